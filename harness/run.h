/* run.h - `gatecert run`: load the scenarios, run every case against a
 * driver, write the reports.
 *
 * Exit codes: 0 every case conformed (or was skipped), 1 a non-conformance,
 * 2 a usage or scenario error (nothing ran), 3 a harness error.
 */
#ifndef GH_RUN_H
#define GH_RUN_H

int gh_run_main(int argc, char **argv);

#endif
