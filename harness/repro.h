/* repro.h - `gatecert repro CASE`: print a standalone bash script that
 * reproduces one scenario case without the harness.
 *
 * The script does by hand what the runner does for that case: a work
 * directory, libfaketime's timestamp file at the case's epoch, the case's PKI
 * (`gatecert certs issue --at`, so certificates are dated from the fake epoch),
 * gatecert-backend and gatecert-sim started under libfaketime, the APIs, then
 * one commented block per step (curl for calls and admin calls, the clock file
 * rewritten atomically for clock steps) that prints what it got next to what
 * the scenario expects, with a MISMATCH line per expectation that does not
 * hold. Every process it starts is stopped by pid on exit.
 *
 * Exit codes: 0 the script was printed, 2 a usage or scenario error (no case
 * or more than one case matched: the candidates are listed on stderr), 3 an
 * internal error.
 */
#ifndef GH_REPRO_H
#define GH_REPRO_H

int gh_repro_main(int argc, char **argv);

#endif
