/* bench_gateways.c - the same scenarios against the simulator, nginx and
 * HAProxy: real time per case, and how much of it applying configuration
 * takes (`make bench`, label `bench`).
 *
 * For each driver (GATECERT_BENCH_DRIVERS, default "sim nginx haproxy") and
 * each item of the scenario set (GATECERT_BENCH_SCENARIOS, paths under
 * GATECERT_SCENARIOS; default below, chosen so that all three drivers run
 * most cases), the benchmark runs
 *
 *   gatecert run -j 1 --driver D --scenarios ITEM --reports TMP/D/N ...
 *
 * one case at a time (no contention between cases), its output in
 * TMP/D/N/run.log, and reads TMP/D/N/conformance.json with the matrix's
 * loader (matrix.h). It then prints, per case, the real seconds in each
 * driver (with the applies and their milliseconds), and per driver: cases
 * run and skipped, failures, mean and median real seconds per case, total
 * applies, mean apply latency (apply_ms / applies), the share of case time
 * spent applying, and the ratio to the simulator over the cases both ran.
 *
 * A driver whose gateway program is missing (no nginx or haproxy in PATH or
 * /usr/sbin) is skipped with a message. Figures only: nothing is asserted
 * about them. The exit status is 1 only when a run could not be made (its
 * conformance.json was not written), with the end of its log on stderr;
 * failing cases are not a benchmark failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend_support.h"
#include "matrix.h"

#define DEFAULT_DRIVERS "sim nginx haproxy"
#define DEFAULT_SCENARIOS                                                                          \
  "backend-mtls client-mtls/verify-modes.yaml client-mtls/chain-validation.yaml "                  \
  "backend-trust/upload-applies.yaml backend-trust/session-reuse.yaml header-mode/pinned.yaml"
#define MAX_ITEMS   32
#define MAX_DRIVERS 8
#define CELL_WIDTH  24
#define LOG_TAIL    2048

typedef struct bench_env {
  const char *gatecert, *sim_bin, *backend_bin, *scenarios, *tmp;
} bench_env;

/* One driver's runs: one gh_mx_run per scenario item that produced a report. */
typedef struct driver_runs {
  const char *name;
  char program[1024]; /* the gateway program, "" for the simulator */
  bool skipped;       /* its program is missing */
  bool failed;        /* a run could not be made */
  gh_mx_run runs[MAX_ITEMS];
  size_t run_count;
  double wall_seconds;
} driver_runs;

/* Splits s (modified) at blanks into at most max words. */
static size_t split_words(char *s, char **words, size_t max) {
  size_t n = 0;
  for (char *save = NULL, *w = strtok_r(s, " \t\n", &save); w != NULL && n < max;
       w = strtok_r(NULL, " \t\n", &save))
    words[n++] = w;
  return n;
}

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : fallback;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_dirs(const char *path) {
  char buf[1024];
  snprintf(buf, sizeof(buf), "%s", path);
  for (char *p = buf + 1; *p != '\0'; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The gateway program of a real driver: PATH, then /usr/sbin and /sbin. */
static bool find_program(const char *name, char *out, size_t len) {
  char path[4096];
  snprintf(path, sizeof(path), "%s:/usr/sbin:/sbin", env_or("PATH", "/usr/bin:/bin"));
  for (char *save = NULL, *dir = strtok_r(path, ":", &save); dir != NULL;
       dir = strtok_r(NULL, ":", &save)) {
    snprintf(out, len, "%s/%s", dir, name);
    if (access(out, X_OK) == 0)
      return true;
  }
  out[0] = '\0';
  return false;
}

/* Runs argv with stdout and stderr into log; its exit status, or -1. */
static int run_logged(char *const *argv, const char *log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "bench_gateways: cannot start %s: %s\n", argv[0], strerror(rc));
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void print_log_tail(const char *log) {
  FILE *f = fopen(log, "rb");
  if (f == NULL)
    return;
  char buf[LOG_TAIL + 1];
  if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > LOG_TAIL)
    fseek(f, -LOG_TAIL, SEEK_END);
  else
    fseek(f, 0, SEEK_SET);
  size_t n = fread(buf, 1, LOG_TAIL, f);
  buf[n] = '\0';
  fclose(f);
  fprintf(stderr, "---- end of %s ----\n%s\n----\n", log, buf);
}

/* One `gatecert run` of one scenario item; its report into d->runs. */
static void run_item(const bench_env *env, driver_runs *d, const char *item, size_t index) {
  char dir[1024], scen[1024], report[1100], log[1100];
  snprintf(dir, sizeof(dir), "%s/%s/%zu", env->tmp, d->name, index);
  snprintf(scen, sizeof(scen), "%s/%s", env->scenarios, item);
  snprintf(report, sizeof(report), "%s/conformance.json", dir);
  snprintf(log, sizeof(log), "%s/run.log", dir);
  if (make_dirs(dir) != 0) {
    fprintf(stderr, "bench_gateways: cannot create %s: %s\n", dir, strerror(errno));
    d->failed = true;
    return;
  }
  unlink(report);
  char driver_arg[64];
  snprintf(driver_arg, sizeof(driver_arg), "%s", d->name);
  char *argv[20];
  size_t n = 0;
  argv[n++] = (char *)env->gatecert;
  argv[n++] = "run";
  argv[n++] = "-j";
  argv[n++] = "1";
  argv[n++] = "--driver";
  argv[n++] = driver_arg;
  argv[n++] = "--scenarios";
  argv[n++] = scen;
  argv[n++] = "--reports";
  argv[n++] = dir;
  argv[n++] = "--sim-bin";
  argv[n++] = (char *)env->sim_bin;
  argv[n++] = "--backend-bin";
  argv[n++] = (char *)env->backend_bin;
  if (d->program[0] != '\0') {
    argv[n++] = "--gateway-bin";
    argv[n++] = d->program;
  }
  argv[n] = NULL;
  double t0 = now_seconds();
  int status = run_logged(argv, log);
  d->wall_seconds += now_seconds() - t0;
  char why[1024] = "";
  gh_mx_run *run = &d->runs[d->run_count];
  if (gh_mx_run_load(report, run, why, sizeof(why)) != 0) {
    fprintf(stderr, "bench_gateways: %s, %s: the run could not be made (exit %d): %s\n", d->name,
            item, status, why);
    print_log_tail(log);
    d->failed = true;
    return;
  }
  d->run_count++;
}

/* ---- figures -------------------------------------------------------------------------------- */

typedef struct figures {
  size_t run, skipped, failed; /* failed: fail or error */
  double total_s, mean_s, median_s;
  long applies;
  double apply_ms;
} figures;

static figures figures_of(const driver_runs *d) {
  figures f = {0};
  size_t cap = 0;
  for (size_t r = 0; r < d->run_count; r++)
    cap += d->runs[r].count;
  double *times = calloc(cap + 1, sizeof(*times));
  for (size_t r = 0; times != NULL && r < d->run_count; r++)
    for (size_t i = 0; i < d->runs[r].count; i++) {
      const gh_mx_case *c = &d->runs[r].cases[i];
      if (c->outcome == GH_SKIP) {
        f.skipped++;
        continue;
      }
      f.failed += c->outcome == GH_FAIL || c->outcome == GH_ERROR;
      times[f.run++] = c->seconds;
      f.total_s += c->seconds;
      f.applies += c->applies;
      f.apply_ms += c->apply_ms;
    }
  if (times != NULL && f.run > 0) {
    f.mean_s = f.total_s / (double)f.run;
    f.median_s = bs_median(times, f.run);
  }
  free(times);
  return f;
}

/* The case of that name in d, when it ran (not skipped). */
static const gh_mx_case *ran_case(const driver_runs *d, const gh_mx_case *like) {
  for (size_t r = 0; r < d->run_count; r++)
    for (size_t i = 0; i < d->runs[r].count; i++) {
      const gh_mx_case *c = &d->runs[r].cases[i];
      if (c->outcome != GH_SKIP && strcmp(c->name, like->name) == 0)
        return c;
    }
  return NULL;
}

/* Real time of d over the cases both d and base ran, divided by base's. */
static double ratio_to(const driver_runs *d, const driver_runs *base, size_t *common) {
  double mine = 0, theirs = 0;
  *common = 0;
  for (size_t r = 0; r < d->run_count; r++)
    for (size_t i = 0; i < d->runs[r].count; i++) {
      const gh_mx_case *c = &d->runs[r].cases[i];
      const gh_mx_case *b = c->outcome != GH_SKIP ? ran_case(base, c) : NULL;
      if (b == NULL)
        continue;
      mine += c->seconds;
      theirs += b->seconds;
      (*common)++;
    }
  return theirs > 0 ? mine / theirs : 0;
}

static void print_cell(const driver_runs *d, const gh_mx_case *like) {
  if (d->skipped || (d->failed && d->run_count == 0)) {
    printf("%-*s  ", CELL_WIDTH, "-");
    return;
  }
  const gh_mx_case *c = NULL;
  for (size_t r = 0; r < d->run_count && c == NULL; r++)
    for (size_t i = 0; i < d->runs[r].count && c == NULL; i++)
      if (strcmp(d->runs[r].cases[i].name, like->name) == 0)
        c = &d->runs[r].cases[i];
  char text[64];
  bool marked = c != NULL && c->outcome != GH_PASS && c->outcome != GH_SKIP;
  const char *mark = marked ? " " : "", *outcome = marked ? gh_outcome_name(c->outcome) : "";
  if (c == NULL)
    snprintf(text, sizeof(text), "(not run)");
  else if (c->outcome == GH_SKIP)
    snprintf(text, sizeof(text), "skip");
  else if (c->applies > 0)
    snprintf(text, sizeof(text), "%.3f%s%s (%ldx %.0f ms)", c->seconds, mark, outcome, c->applies,
             c->apply_ms);
  else
    snprintf(text, sizeof(text), "%.3f%s%s", c->seconds, mark, outcome);
  printf("%-*s  ", CELL_WIDTH, text);
}

/* Every case of every driver, once (by name), in the order first seen. */
static const gh_mx_case **unique_cases(const driver_runs *drivers, size_t n, size_t *count) {
  size_t cap = 0;
  for (size_t k = 0; k < n; k++)
    for (size_t r = 0; r < drivers[k].run_count; r++)
      cap += drivers[k].runs[r].count;
  // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
  const gh_mx_case **list = calloc(cap + 1, sizeof(*list));
  *count = 0;
  for (size_t k = 0; list != NULL && k < n; k++)
    for (size_t r = 0; r < drivers[k].run_count; r++)
      for (size_t i = 0; i < drivers[k].runs[r].count; i++) {
        const gh_mx_case *c = &drivers[k].runs[r].cases[i];
        bool seen = false;
        for (size_t j = 0; j < *count && !seen; j++)
          seen = strcmp(list[j]->name, c->name) == 0;
        if (!seen)
          list[(*count)++] = c;
      }
  return list;
}

static void print_cases(const driver_runs *drivers, size_t n) {
  size_t count = 0;
  const gh_mx_case **list = unique_cases(drivers, n, &count);
  printf("\nreal seconds per case (fail/error marked; (Nx M ms) = N applies took M ms):\n");
  for (size_t k = 0; k < n; k++)
    printf("%-*s  ", CELL_WIDTH, drivers[k].name);
  printf("case\n");
  for (size_t i = 0; list != NULL && i < count; i++) {
    for (size_t k = 0; k < n; k++)
      print_cell(&drivers[k], list[i]);
    printf("%s\n", list[i]->name);
  }
  free(list);
}

static void print_summary(const driver_runs *drivers, size_t n) {
  const driver_runs *sim = NULL;
  for (size_t k = 0; k < n; k++)
    if (strcmp(drivers[k].name, "sim") == 0 && !drivers[k].skipped && drivers[k].run_count > 0)
      sim = &drivers[k];
  printf("\nper driver (cases run one at a time):\n");
  printf("%-8s %5s %5s %5s %9s %9s %8s %10s %7s %9s %8s\n", "driver", "run", "skip", "fail",
         "mean s", "median s", "applies", "apply ms", "apply%", "vs sim", "wall s");
  for (size_t k = 0; k < n; k++) {
    const driver_runs *d = &drivers[k];
    if (d->skipped) {
      printf("%-8s skipped: no %s program in PATH, /usr/sbin or /sbin\n", d->name, d->name);
      continue;
    }
    if (d->run_count == 0) {
      printf("%-8s no run could be made (see above)\n", d->name);
      continue;
    }
    figures f = figures_of(d);
    char apply[32] = "-", share[32] = "-", ratio[32] = "-";
    if (f.applies > 0) {
      snprintf(apply, sizeof(apply), "%.1f", f.apply_ms / (double)f.applies);
      snprintf(share, sizeof(share), "%.1f%%",
               f.total_s > 0 ? 100.0 * f.apply_ms / 1000.0 / f.total_s : 0.0);
    }
    size_t common = 0;
    double x = sim != NULL ? ratio_to(d, sim, &common) : 0;
    if (x > 0)
      snprintf(ratio, sizeof(ratio), "%.2fx/%zu", x, common);
    printf("%-8s %5zu %5zu %5zu %9.3f %9.3f %8ld %10s %7s %9s %8.1f\n", d->name, f.run, f.skipped,
           f.failed, f.mean_s, f.median_s, f.applies, apply, share, ratio, d->wall_seconds);
  }
  printf("apply ms = mean real time of one configuration apply (reload); apply%% = share of the\n"
         "cases' real time spent applying; vs sim = real time over the cases both ran, divided\n"
         "by the simulator's (x/N: N common cases); wall s = the whole `gatecert run`s.\n");
}

int main(void) {
  bench_env env = {
      .gatecert = env_or("GATECERT_BIN", "gatecert"),
      .sim_bin = env_or("GATECERT_SIM_BIN", "gatecert-sim"),
      .backend_bin = env_or("GATECERT_BACKEND_BIN", "gatecert-backend"),
      .scenarios = env_or("GATECERT_SCENARIOS", "scenarios"),
      .tmp = env_or("GATECERT_TMP", "/tmp/bench_gateways"),
  };
  char driver_list[256], item_list[2048];
  snprintf(driver_list, sizeof(driver_list), "%s",
           env_or("GATECERT_BENCH_DRIVERS", DEFAULT_DRIVERS));
  snprintf(item_list, sizeof(item_list), "%s",
           env_or("GATECERT_BENCH_SCENARIOS", DEFAULT_SCENARIOS));
  char *names[MAX_DRIVERS], *items[MAX_ITEMS];
  size_t n = split_words(driver_list, names, MAX_DRIVERS);
  size_t item_count = split_words(item_list, items, MAX_ITEMS);
  static driver_runs drivers[MAX_DRIVERS];
  printf("bench_gateways: the same scenarios against each driver, one case at a time\n");
  printf("scenarios (%s):", env.scenarios);
  for (size_t i = 0; i < item_count; i++)
    printf(" %s", items[i]);
  printf("\n");
  int rc = 0;
  for (size_t k = 0; k < n; k++) {
    driver_runs *d = &drivers[k];
    d->name = names[k];
    if (strcmp(d->name, "sim") != 0 && !find_program(d->name, d->program, sizeof(d->program))) {
      d->skipped = true;
      printf("%s: skipped: no %s program in PATH, /usr/sbin or /sbin\n", d->name, d->name);
      continue;
    }
    printf("%s: running %zu scenario items%s%s ...\n", d->name, item_count,
           d->program[0] ? " with " : "", d->program);
    fflush(stdout);
    for (size_t i = 0; i < item_count; i++)
      run_item(&env, d, items[i], i);
    if (d->failed)
      rc = 1;
    if (d->run_count > 0)
      printf("%s: %s %s\n", d->name, d->runs[0].implementation, d->runs[0].version);
  }
  print_cases(drivers, n);
  print_summary(drivers, n);
  for (size_t k = 0; k < n; k++)
    for (size_t r = 0; r < drivers[k].run_count; r++)
      gh_mx_run_free(&drivers[k].runs[r]);
  if (rc != 0)
    printf("bench_gateways: FAILED: a run could not be made (see above)\n");
  return rc;
}
