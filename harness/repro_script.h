/* repro_script.h - the script `gatecert repro` prints, for repro.c (the
 * command line) and repro_script.c (the writer). Internal to gatecert repro. */
#ifndef GH_REPRO_SCRIPT_H
#define GH_REPRO_SCRIPT_H

#include <stddef.h>
#include <stdio.h>

#include "scenario.h"

#define GH_REPRO_PATH_LEN     4096
#define GH_REPRO_MAX_SIM_ARGS 32

/* The command line. */
typedef struct gh_repro_options {
  const char *scenarios;
  const char *profile;
  const char *sim_bin;
  const char *backend_bin;
  const char *faketime_lib;
  const char *sim_args[GH_REPRO_MAX_SIM_ARGS + 1];
  size_t sim_arg_count;
  const char *name;
} gh_repro_options;

/* Absolute paths written into the script (it runs in its own directory). */
typedef struct gh_repro_bins {
  char gatecert[GH_REPRO_PATH_LEN];
  char sim[GH_REPRO_PATH_LEN];
  char backend[GH_REPRO_PATH_LEN];
  char faketime[GH_REPRO_PATH_LEN];
  char scenarios[GH_REPRO_PATH_LEN];
} gh_repro_bins;

/* Writes the whole script of case c under profile (canonical) to o. 0, or
 * -1 with why (a case the script cannot express, out of memory). */
int gh_repro_script(FILE *o, const gh_case_spec *c, const char *profile,
                    const gh_repro_options *opt, const gh_repro_bins *bin, char *why,
                    size_t why_len);

#endif
