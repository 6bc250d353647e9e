/* run_cli.c - `gatecert run`: the command line of the scenario runner.
 *
 * gh_run_main parses the options, loads the catalogue (--scenarios, a file or
 * a directory of scenarios/<feature>/NAME.yaml, sorted; matrix rows expanded),
 * selects the cases (--profile, --feature, --filter/--skip globs, --case exact
 * names; one that matches nothing is a usage error, check_selection), orders them
 * keeps its shard (--shard K/N, --shard-timings FILE: shard.h; after the
 * selection check, so every shard refuses the same options)
 * (--shuffle SEED), makes the driver (sim, nginx, haproxy, caddy or exec:PROGRAM),
 * runs the selection (run_pool.c) once or up to --repeat-until-fail rounds,
 * writes junit.xml, conformance.json and index.html (report_html.h), prints
 * the summary, applies the known failures, and turns it all into the exit
 * status (run.h). SIGINT and
 * SIGTERM set gh_runner_interrupted: the run stops early and exits 130.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gutil.h"
#include "known.h"
#include "profile.h"
#include "report_html.h"
#include "run.h"
#include "run_internal.h"
#include "shard.h"

#ifndef GATECERT_FAKETIME_LIB
#define GATECERT_FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
#endif
#ifndef GATECERT_VERSION
#define GATECERT_VERSION "0.1.0"
#endif

/* Set by SIGINT/SIGTERM: the one piece of process state a signal may touch.
 * The running case stops before its next step and cleans up (every process
 * stopped by pid, libfaketime files removed), the reports are written, and
 * the run exits 130. */
volatile sig_atomic_t gh_runner_interrupted;

static void on_interrupt(int sig) {
  (void)sig;
  gh_runner_interrupted = 1;
}

/* Fisher-Yates with a seeded xorshift64: the same seed gives the same order. */
static void shuffle(const gh_case_spec **cases, size_t n, unsigned long long seed) {
  unsigned long long x = seed ? seed : 0x9e3779b97f4a7c15ULL;
  for (size_t i = n; i > 1; i--) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t j = (size_t)(x % i);
    const gh_case_spec *t = cases[i - 1];
    cases[i - 1] = cases[j];
    cases[j] = t;
  }
}

/* The profile and --feature: what the selection options choose from. */
static int in_scope(const options *opt, const gh_case_spec *c, const char *profile) {
  if (!gh_case_has_profile(c, profile))
    return 0;
  if (opt->feature) {
    int has = 0;
    for (size_t i = 0; i < c->feature_count; i++)
      has |= strcmp(c->features[i], opt->feature) == 0;
    if (!has)
      return 0;
  }
  return 1;
}

/* --case names a case exactly, --filter is a glob; with neither, every case. */
static int chosen_by_name(const options *opt, const gh_case_spec *c) {
  int match = opt->filter_count == 0 && opt->case_count == 0;
  for (size_t i = 0; i < opt->case_count; i++)
    match |= strcmp(opt->cases[i], c->name) == 0;
  for (size_t i = 0; i < opt->filter_count; i++)
    match |= fnmatch(opt->filters[i], c->name, 0) == 0;
  return match;
}

static int selected(const options *opt, const gh_case_spec *c, const char *profile) {
  if (!in_scope(opt, c, profile) || !chosen_by_name(opt, c))
    return 0;
  for (size_t i = 0; i < opt->skip_count; i++)
    if (fnmatch(opt->skips[i], c->name, 0) == 0)
      return 0;
  return 1;
}

/* Appends to why how a --filter that matched nothing could select what was
 * meant: when it is some case's exact name (a reproduce command printed
 * before --case existed, a name with [...] from a matrix row), --case NAME or
 * the glob with * ? [ \\ escaped; else that it is a glob. */
static void glob_hint(const options *opt, const gh_catalogue *cat, const char *glob, char *why,
                      size_t why_len) {
  int named = 0;
  for (size_t i = 0; i < cat->count && !named; i++)
    named = in_scope(opt, &cat->cases[i], opt->profile) && strcmp(glob, cat->cases[i].name) == 0;
  size_t used = strlen(why);
  if (!named) {
    snprintf(why + used, why_len - used,
             " (a glob: escape * ? [ \\ with a backslash, or use --case NAME)");
    return;
  }
  gu_text escaped = {0}, by_case = {0}, by_glob = {0};
  gu_glob_escape(&escaped, glob);
  const char *case_argv[] = {"--case", glob, NULL};
  const char *glob_argv[] = {"--filter", escaped.failed ? "" : escaped.data, NULL};
  gu_shell_command(&by_case, case_argv); /* as the shell would need them */
  gu_shell_command(&by_glob, glob_argv);
  snprintf(why + used, why_len - used,
           " (a case has exactly that name, but to --filter * ? [ \\ are glob characters: use "
           "%s or %s)",
           by_case.failed ? "--case NAME" : by_case.data,
           by_glob.failed ? "the glob escaped" : by_glob.data);
  gu_text_free(&escaped);
  gu_text_free(&by_case);
  gu_text_free(&by_glob);
}

/* The selection options asked for something the catalogue does not have: a
 * --feature no case of the profile has, a --case or --filter that names no
 * case of the profile (and feature), or a --skip that leaves nothing. A run
 * of 0 cases would be green while testing nothing, so each is a usage error.
 * 0, or -1 with why naming the option and its value. */
static int check_selection(const options *opt, const gh_catalogue *cat, char *why, size_t why_len) {
  size_t scope = 0, chosen = 0;
  for (size_t i = 0; i < cat->count; i++) {
    scope += in_scope(opt, &cat->cases[i], opt->profile);
    chosen += selected(opt, &cat->cases[i], opt->profile);
  }
  if (opt->feature && scope == 0)
    return gu_fail(why, why_len, "--feature \"%s\": no case of profile %s has that feature",
                   opt->feature, opt->profile);
  const char *of = opt->feature ? " and feature " : "";
  const char *feature = opt->feature ? opt->feature : "";
  for (size_t k = 0; k < opt->case_count + opt->filter_count; k++) {
    int exact = k < opt->case_count;
    const char *name = exact ? opt->cases[k] : opt->filters[k - opt->case_count];
    size_t hits = 0;
    for (size_t i = 0; i < cat->count && hits == 0; i++) {
      const gh_case_spec *c = &cat->cases[i];
      hits += in_scope(opt, c, opt->profile) &&
              (exact ? strcmp(name, c->name) == 0 : fnmatch(name, c->name, 0) == 0);
    }
    if (hits > 0)
      continue;
    gu_fail(why, why_len, "%s \"%s\" matches no case of profile %s%s%s",
            exact ? "--case" : "--filter", name, opt->profile, of, feature);
    if (!exact)
      glob_hint(opt, cat, name, why, why_len);
    return -1;
  }
  if (chosen == 0 && opt->skip_count > 0)
    return gu_fail(why, why_len, "--skip leaves no case to run (the first: --skip \"%s\")",
                   opt->skips[0]);
  return 0;
}

/* --shard K/N: *keep gets, per catalogue case, 1 when it is selected and in
 * shard K by shard.h's partition of the selected names (NULL when not
 * sharded). A shard with no case says so and runs nothing: not an error (a
 * small catalogue over many runners). 0, or -1 with the reason printed (the
 * timings file, memory). */
static int shard_filter(const options *opt, const gh_catalogue *cat, unsigned char **keep) {
  *keep = NULL;
  if (opt->shard_total == 0)
    return 0;
  gh_shard_timings timings = {0};
  char why[1024];
  if (opt->shard_timings &&
      gh_shard_timings_load(opt->shard_timings, &timings, why, sizeof(why)) != 0) {
    fprintf(stderr, "gatecert run: --shard-timings: %s\n", why);
    return -1;
  }
  const char **names = calloc(cat->count + 1, sizeof(*names));
  size_t *at = calloc(cat->count + 1, sizeof(*at));
  unsigned *shard = calloc(cat->count + 1, sizeof(*shard));
  *keep = calloc(cat->count + 1, 1);
  if (!names || !at || !shard || !*keep) {
    free(names);
    free(at);
    free(shard);
    free(*keep);
    *keep = NULL;
    gh_shard_timings_free(&timings);
    fprintf(stderr, "gatecert run: --shard: out of memory\n");
    return -1;
  }
  size_t n = 0, kept = 0;
  for (size_t i = 0; i < cat->count; i++)
    if (selected(opt, &cat->cases[i], opt->profile)) {
      at[n] = i;
      names[n++] = cat->cases[i].name;
    }
  int rc = gh_shard_assign(names, n, opt->shard_total, &timings, shard, why, sizeof(why));
  for (size_t i = 0; rc == 0 && i < n; i++) {
    (*keep)[at[i]] = shard[i] == opt->shard_index;
    kept += shard[i] == opt->shard_index;
  }
  if (rc != 0) {
    fprintf(stderr, "gatecert run: --shard: %s\n", why);
    free(*keep);
    *keep = NULL;
  } else if (kept == 0) {
    printf("shard %u/%u: none of the %zu selected cases falls in this shard; nothing to run\n",
           opt->shard_index, opt->shard_total, n);
  }
  free(names);
  free(at);
  free(shard);
  gh_shard_timings_free(&timings);
  return rc;
}

static const char usage_text[] =
    "usage: gatecert run [--scenarios DIR] [--reports DIR]\n"
    "                    [--driver sim|nginx|haproxy|caddy|exec:PROGRAM] [--gateway-bin F]\n"
    "                    [--known-failures FILE]\n"
    "                    [--profile wso2-4|wso2-2.6|sap-2023|sap-2026]\n"
    "                    [--feature F] [--filter GLOB]... [--case NAME]... [--skip GLOB]...\n"
    "                    [--list] [--keep] [-j N]\n"
    "                    [--shuffle SEED] [--repeat-until-fail N]\n"
    "                    [--shard K/N [--shard-timings FILE]]\n"
    "                    [--sim-bin F] [--sim-arg ARG]... [--backend-bin F] [--faketime-lib F]\n"
    "\n"
    "Runs every scenario case (scenarios/<feature>/*.yaml, or one file) against a gateway\n"
    "and writes "
    "DIR/junit.xml, DIR/conformance.json and DIR/index.html (default DIR: reports).\n"
    "  --driver D    sim (default: gatecert-sim), nginx, haproxy, caddy (real gateways from\n"
    "                Debian packages, one instance per case as the current user) or\n"
    "                exec:PROGRAM (any program speaking gatecert-exec/1, see\n"
    "                harness/drivers/EXEC.md)\n"
    "  --gateway-bin F  the nginx, haproxy or caddy program (default: found in PATH,\n"
    "                /usr/sbin, /usr/bin for caddy)\n"
    "  --known-failures FILE  the non-conformances expected of this gateway (one\n"
    "                \"fail GLOB reason\" per line): listed failures do not fail the\n"
    "                exit status, an unlisted failure or a listed case that passed does\n"
    "  --profile P   whose rules the expectations follow: wso2-4 (default; also\n"
    "                wso2), wso2-2.6, sap-2023 or sap-2026 (also sap)\n"
    "  --filter/--skip GLOB  select cases by name (fnmatch); repeatable\n"
    "  --case NAME   select the case of exactly that name (no glob); repeatable, adds\n"
    "                to --filter's cases. A --feature, --filter or --case that matches\n"
    "                no case, or a --skip that leaves none, is a usage error (exit 2)\n"
    "  --list        print the selected cases and exit\n"
    "  --keep        keep every case's work directory (logs, certificates, reports)\n"
    "  -j, --jobs N  run N cases at once (each in its own process; default 1)\n"
    "  --shuffle SEED           run the cases in a random order fixed by SEED\n"
    "  --repeat-until-fail N    run the selection up to N times, stop after a failing round\n"
    "  --shard K/N   run only shard K of N of the selected cases (1 <= K <= N): a split\n"
    "                by case name that every runner computes alike (docs/ci.md); a shard\n"
    "                with no case is no error. Merge the shards' reports: gatecert merge\n"
    "  --shard-timings FILE  balance the shards by the case times of a previous\n"
    "                conformance.json or junit.xml; give every shard the same FILE\n"
    "Exit: 0 all conformed, 1 non-conformance, 2 usage or scenario error, 3 harness error,\n"
    "130 interrupted (SIGINT/SIGTERM: the running cases are stopped and cleaned up).\n";

static void default_bins(options *opt, char *sim, char *backend) {
  if (!opt->sim_bin && gh_sibling_program(GH_SIM_SIBLING, sim, PATH_LEN) == 0)
    opt->sim_bin = sim;
  if (!opt->backend_bin && gh_sibling_program(GH_BACKEND_SIBLING, backend, PATH_LEN) == 0)
    opt->backend_bin = backend;
}

/* -j N: 1 to 64 cases at once. */
static int parse_jobs(const char *name, const char *value, void *to, char *why, size_t why_len) {
  (void)name;
  char *end = NULL;
  long j = strtol(value, &end, 10);
  if (!*value || *end || j < 1 || j > 64)
    return gu_fail(why, why_len, "-j wants 1..64");
  *(int *)to = (int)j;
  return 0;
}

/* A whole number from 1 to max (--repeat-until-fail, --shuffle). */
static int positive(const char *name, const char *value, unsigned long long max,
                    unsigned long long *out, char *why, size_t why_len) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(value, &end, 10);
  if (!*value || *end || errno || v == 0 || v > max)
    return gu_fail(why, why_len, "--%s wants a positive integer", name);
  *out = v;
  return 0;
}

static int parse_repeat(const char *name, const char *value, void *to, char *why, size_t why_len) {
  unsigned long long v = 0;
  if (positive(name, value, 100000, &v, why, why_len) != 0)
    return -1;
  *(long *)to = (long)v;
  return 0;
}

static int parse_seed(const char *name, const char *value, void *to, char *why, size_t why_len) {
  return positive(name, value, ULLONG_MAX, to, why, why_len);
}

/* --shard K/N into opt->shard_index and opt->shard_total. */
static int parse_shard(const char *name, const char *value, void *to, char *why, size_t why_len) {
  (void)name;
  options *opt = to;
  gh_shard s;
  if (gh_shard_parse(value, &s, why, why_len) != 0)
    return -1;
  opt->shard_index = s.index;
  opt->shard_total = s.total;
  return 0;
}

/* --scenarios' default: ./scenarios, else share/gatecert/scenarios installed. */
static const char default_scenarios[] = "scenarios";

/* 0 parsed, 1 --help (printed), 2 usage error (printed). */
static int parse_options(int argc, char **argv, options *opt) {
  opt->scenarios = default_scenarios;
  opt->reports = "reports";
  opt->driver = "sim";
  opt->profile = "wso2";
  opt->faketime_lib = GATECERT_FAKETIME_LIB;
  opt->repeat = 1;
  int help = 0, version = 0;
  const gu_opt table[] = {
      {"scenarios", .string = &opt->scenarios},
      {"reports", .string = &opt->reports},
      {"driver", .string = &opt->driver},
      {"profile", .string = &opt->profile},
      {"feature", .string = &opt->feature},
      {"filter", .list = opt->filters, .count = &opt->filter_count, .max = MAX_GLOBS},
      {"case", .list = opt->cases, .count = &opt->case_count, .max = MAX_GLOBS},
      {"skip", .list = opt->skips, .count = &opt->skip_count, .max = MAX_GLOBS},
      {"list", .flag = &opt->list},
      {"keep", .flag = &opt->keep},
      {"sim-bin", .string = &opt->sim_bin},
      {"backend-bin", .string = &opt->backend_bin},
      {"faketime-lib", .string = &opt->faketime_lib},
      {"jobs", 'j', .parse = parse_jobs, .to = &opt->jobs},
      {"repeat-until-fail", .parse = parse_repeat, .to = &opt->repeat},
      {"shuffle", .parse = parse_seed, .to = &opt->shuffle_seed},
      {"sim-arg", .list = opt->sim_args, .count = &opt->sim_arg_count, .max = MAX_GLOBS},
      {"gateway-bin", .string = &opt->gateway_bin},
      {"known-failures", .string = &opt->known_failures},
      {"shard", .parse = parse_shard, .to = opt},
      {"shard-timings", .string = &opt->shard_timings},
      {"help", .flag = &help, .stop = 1},
      {"version", .flag = &version, .stop = 1},
      {0},
  };
  char why[4096];
  int first = gu_opts_parse(argc, argv, table, 0, why, sizeof(why));
  if (first < 0) { /* an unknown option shows the usage, a refused value does not */
    fprintf(stderr, "gatecert run: %s\n%s", why, first == GU_OPTS_UNKNOWN ? usage_text : "");
    return 2;
  }
  if (help) {
    fputs(usage_text, stdout);
    return 1;
  }
  if (version) {
    char line[256];
    puts(gu_version_line("gatecert run", line, sizeof(line)));
    return 1;
  }
  if (first < argc) {
    fprintf(stderr, "gatecert run: unexpected argument \"%s\"\n", argv[first]);
    return 2;
  }
  if (gh_profile_canonical(opt->profile) == NULL) {
    fprintf(stderr,
            "gatecert run: --profile must be wso2-4 (or wso2), wso2-2.6, sap-2023 or sap-2026 "
            "(or sap)\n");
    return 2;
  }
  opt->profile = gh_profile_canonical(opt->profile);
  if (opt->shard_timings && opt->shard_total == 0) {
    fprintf(stderr, "gatecert run: --shard-timings needs --shard K/N\n");
    return 2;
  }
  if (strcmp(opt->driver, "sim") != 0 && strcmp(opt->driver, "nginx") != 0 &&
      strcmp(opt->driver, "haproxy") != 0 && strcmp(opt->driver, "caddy") != 0 &&
      (strncmp(opt->driver, "exec:", 5) != 0 || !opt->driver[5])) {
    fprintf(stderr,
            "gatecert run: unknown driver \"%s\" (built in: sim, nginx, haproxy, caddy, "
            "exec:PROGRAM)\n",
            opt->driver);
    return 2;
  }
  return 0;
}

static void now_text(char *out, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

int gh_run_main(int argc, char **argv) {
  options opt;
  memset(&opt, 0, sizeof(opt));
  int rc = parse_options(argc, argv, &opt);
  if (rc != 0)
    return rc == 1 ? 0 : 2;
  char sim_bin[PATH_LEN], backend_bin[PATH_LEN], installed[PATH_LEN];
  default_bins(&opt, sim_bin, backend_bin);
  /* Installed and run where there is no ./scenarios: the installed catalogue. */
  if (opt.scenarios == default_scenarios && access(default_scenarios, F_OK) != 0 &&
      gu_data_path("scenarios", installed, sizeof(installed)) == 0)
    opt.scenarios = installed;
  setenv("TZ", "UTC", 1); /* libfaketime reads timestamp files in local time */
  tzset();
  gh_catalogue cat;
  gh_load_error errors[8];
  size_t error_count = 0;
  rc = 0;
  if (gh_catalogue_load(opt.scenarios, &cat, errors, 8, &error_count) != 0) {
    for (size_t i = 0; i < error_count && i < 8; i++)
      fprintf(stderr, "%s:%d:%d: %s\n", errors[i].file, errors[i].line, errors[i].column,
              errors[i].message);
    if (error_count > 8)
      fprintf(stderr, "gatecert run: %zu more scenario errors\n", error_count - 8);
    return 2;
  }
  char selection_why[8192];
  if (check_selection(&opt, &cat, selection_why, sizeof(selection_why)) != 0) {
    fprintf(stderr, "gatecert run: %s\n", selection_why);
    gh_catalogue_free(&cat);
    return 2;
  }
  unsigned char *in_shard = NULL; /* --shard: 1 for a catalogue case this shard runs */
  if (shard_filter(&opt, &cat, &in_shard) != 0) {
    gh_catalogue_free(&cat);
    return 2;
  }
  if (rc == 0 && opt.list) {
    for (size_t i = 0; i < cat.count; i++)
      if (selected(&opt, &cat.cases[i], opt.profile) && (!in_shard || in_shard[i]))
        printf("%s\n", cat.cases[i].name);
  }
  if (rc != 0 || opt.list) {
    free(in_shard);
    gh_catalogue_free(&cat);
    return rc;
  }
  gh_known known = {0};
  if (opt.known_failures) {
    char why[1024];
    if (gh_known_load(opt.known_failures, &known, why, sizeof(why)) != 0) {
      fprintf(stderr, "gatecert run: %s\n", why);
      free(in_shard);
      gh_catalogue_free(&cat);
      return 2;
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  gh_exec_info exec = {.implementation = ""};
  gh_real_info real = {.version = ""};
  char driver_why[1024] = "";
  gh_driver *driver = NULL;
  if (strncmp(opt.driver, "exec:", 5) == 0)
    driver = gh_driver_exec_new(opt.driver + 5, opt.profile, &exec, driver_why, sizeof(driver_why));
  else if (strcmp(opt.driver, "nginx") == 0)
    driver = gh_driver_nginx_new(opt.gateway_bin, &real, driver_why, sizeof(driver_why));
  else if (strcmp(opt.driver, "haproxy") == 0)
    driver = gh_driver_haproxy_new(opt.gateway_bin, &real, driver_why, sizeof(driver_why));
  else if (strcmp(opt.driver, "caddy") == 0)
    driver = gh_driver_caddy_new(opt.gateway_bin, &real, driver_why, sizeof(driver_why));
  else
    driver = gh_driver_sim_new(opt.sim_bin, opt.sim_args);
  if (real.version[0]) {
    snprintf(exec.implementation, sizeof(exec.implementation), "%s", opt.driver);
    snprintf(exec.version, sizeof(exec.version), "%s", real.version);
  }
  char started[32], host[256] = "localhost", epoch[] = "2030-01-01T00:00:00Z";
  now_text(started, sizeof(started));
  gethostname(host, sizeof(host) - 1);
  gh_run run = {.implementation = exec.implementation[0] ? exec.implementation : "sim",
                .implementation_version = exec.version[0] ? exec.version : GATECERT_VERSION,
                .profile = (char *)opt.profile,
                .product = (char *)gh_profile_product(opt.profile),
                .harness_version = GATECERT_VERSION,
                .fake_epoch = epoch,
                .started = started,
                .hostname = host};
  run.shard_index = opt.shard_index;
  run.shard_total = opt.shard_total;
  int color = gh_console_color(stdout);
  double t0 = gh_runner_now_ms();
  char reports_abs[PATH_MAX];
  if (!driver || gh_runner_make_dirs(opt.reports) != 0 || !realpath(opt.reports, reports_abs) ||
      gh_runner_pathf(opt.work, sizeof(opt.work), "%s/work", reports_abs) != 0) {
    fprintf(stderr, "gatecert run: cannot set up (%s)\n",
            driver_why[0] ? driver_why : strerror(errno));
    rc = 3;
  } else {
    run.secrets = driver->ops->secrets(driver);
    size_t total = cat.count;
    const gh_case_spec **chosen = calloc(
        total + 1, sizeof(*chosen)); // NOLINT(bugprone-sizeof-expression): an array of pointers
    size_t n = 0;
    for (size_t i = 0; chosen && i < cat.count; i++)
      if (selected(&opt, &cat.cases[i], opt.profile) && (!in_shard || in_shard[i]))
        chosen[n++] = &cat.cases[i];
    if (opt.shuffle_seed)
      shuffle(chosen, n, opt.shuffle_seed);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (long round = 0; round < opt.repeat && !gh_runner_interrupted; round++) {
      gh_tally before = gh_run_tally(&run);
      gh_runner_run_all(&opt, chosen, n, driver, &run, color);
      gh_tally after = gh_run_tally(&run);
      if (after.fail + after.error > before.fail + before.error)
        break; /* --repeat-until-fail: stop at the first round that failed */
    }
    free(chosen);
    run.seconds = (gh_runner_now_ms() - t0) / 1e3;
    char path[PATH_LEN], why[512];
    gh_runner_pathf(path, sizeof(path), "%s/junit.xml", opt.reports);
    if (gh_junit_write(&run, path, why, sizeof(why)) != 0) {
      fprintf(stderr, "gatecert run: %s\n", why);
      rc = 3;
    }
    gh_runner_pathf(path, sizeof(path), "%s/conformance.json", opt.reports);
    if (gh_conformance_write(&run, path, why, sizeof(why)) != 0) {
      fprintf(stderr, "gatecert run: %s\n", why);
      rc = 3;
    }
    gh_runner_pathf(path, sizeof(path), "%s/index.html", opt.reports);
    if (gh_report_html_write(&run, path, why, sizeof(why)) != 0) {
      fprintf(stderr, "gatecert run: %s\n", why);
      rc = 3;
    }
    gh_console_summary(stdout, color, &run, opt.reports);
    if (gh_runner_interrupted)
      printf("INTERRUPTED: the run stopped early; the reports hold the cases that ran\n");
    gh_tally t = gh_run_tally(&run);
    int failed = t.fail > 0;
    if (opt.known_failures &&
        !gh_runner_interrupted) { /* listed non-conformances do not fail the run */
      gh_known_result kr = {0};
      if (gh_known_check(&known, &run, &kr, why, sizeof(why)) != 0) {
        fprintf(stderr, "gatecert run: %s\n", why);
        rc = 3;
      } else {
        fputs(kr.summary ? kr.summary : "known failures: no summary\n", stdout);
        failed = !kr.ok;
      }
      gh_known_result_free(&kr);
    }
    if (rc == 0)
      rc = gh_runner_interrupted ? 130 : t.error ? 3 : failed ? 1 : 0;
  }
  gh_known_free(&known);
  if (driver)
    driver->ops->destroy(driver);
  run.implementation = NULL; /* borrowed strings: not the run's to free */
  run.implementation_version = NULL;
  run.profile = NULL;
  run.product = NULL;
  run.harness_version = NULL;
  run.fake_epoch = NULL;
  run.started = NULL;
  run.hostname = NULL;
  gh_run_free(&run);
  free(in_shard);
  gh_catalogue_free(&cat);
  curl_global_cleanup();
  return rc;
}
