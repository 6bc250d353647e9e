/* gatecert.c - the `gatecert` command: dispatches to a component's subcommand.
 *
 * Each subcommand is owned by its component (`certs` by certs/, through
 * gcert_cli_main; `run` by the runner, gh_run_main; `token` by token.c on
 * jwt/; `matrix` by matrix.c, gh_matrix_main;
 * `merge` by merge.c, gh_merge_main); this file only routes argv
 * and prints the overall usage.
 */
#include <stdio.h>
#include <string.h>

#include "gcert.h"
#include "gutil.h"
#include "token.h"
#include "matrix.h"
#include "merge.h"
#include "repro.h"
#include "run.h"

static const struct {
  const char *name;
  int (*main)(int argc, char **argv);
  const char *summary;
} subcommands[] = {
    {"certs", gcert_cli_main, "make, inspect and convert certificates and key stores"},
    {"run", gh_run_main, "run the scenarios against a gateway and write the reports"},
    {"repro", gh_repro_main, "print a shell script that reproduces one case"},
    {"matrix", gh_matrix_main, "compare runs feature by feature: the conformance matrix"},
    {"merge", gh_merge_main, "combine the reports of the shards of a run (gatecert run --shard)"},
    {"token", gh_token_main, "mint a JWT access token signed by a key manager's key"},
};

static void usage(FILE *out) {
  fprintf(out, "usage: gatecert <command> [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
    fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf(out, "\n`gatecert <command> --help` describes one command; `gatecert --version`\n"
               "prints \"gatecert VERSION\".\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    char line[256];
    puts(gu_version_line("gatecert", line, sizeof(line)));
    return 0;
  }
  for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
    if (strcmp(argv[1], subcommands[i].name) == 0)
      return subcommands[i].main(argc - 1, argv + 1);
  }
  fprintf(stderr, "gatecert: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
