/* supervisor.h - starting, watching and stopping the processes of a case.
 *
 * Every process the harness starts (gateway, backends) is a child in its own
 * process group, dies with the harness (PR_SET_PDEATHSIG), has its stdout on
 * a pipe from which its READY line(s) are read with a bounded real timeout,
 * its stderr in a file of the case's work directory, and optionally
 * libfaketime preloaded reading the case's timestamp file (LD_PRELOAD of
 * libfaketimeMT, FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1, never
 * FAKETIME; monotonic time stays real). It is stopped by pid: SIGTERM to its
 * group, a bounded wait, then SIGKILL; libfaketime's /dev/shm files of a
 * process that did not exit cleanly (whose destructor did not run) are removed.
 *
 * Its environment is ours minus LD_PRELOAD and every FAKETIME* variable, with
 * spec->env entries replacing ours of the same name. Under faketime
 * ASAN_OPTIONS (ours, or spec->env's) gets verify_asan_link_order=0 appended,
 * which a sanitizer build needs to start with a library preloaded.
 *
 * READY protocols: a process either prints "READY <name> https=127.0.0.1:P"
 * lines and a final "READY-ALL <n>" (gatecert-backend), or one line
 * "READY <name> key=127.0.0.1:P [key=127.0.0.1:P]..." (gatecert-sim), whose
 * keys name its endpoints.
 *
 * PR_SET_PDEATHSIG fires when the *thread* that forked ends: start processes
 * from a thread that lives as long as they should. There is no global state;
 * a gh_proc belongs to the process (not a fork of it) that started it.
 *
 * Nothing here prints: failures return -1 with a one-line reason in why
 * (why may be NULL; on success it is set to "").
 */
#ifndef GH_SUPERVISOR_H
#define GH_SUPERVISOR_H

#include <stddef.h>
#include <sys/types.h>

#define GH_PROC_MAX_ENDPOINTS 32
#define GH_PROC_NAME_MAX      64
#define GH_PROC_PATH_MAX      1024
#define GH_PROC_MAX_ARGS      64

typedef struct gh_proc_spec {
  const char *bin;           /* path of the program (execve: no PATH search) */
  const char *const *args;   /* after argv[0], NULL-terminated */
  const char *stderr_path;   /* where its stderr goes (created or truncated, 0600) */
  const char *faketime_file; /* non-NULL: preload libfaketime reading this file */
  const char *faketime_lib;  /* libfaketimeMT.so.1 (required with faketime_file) */
  const char *const *env;    /* extra "NAME=value" entries, NULL-terminated; with
                              * faketime_file none may name LD_PRELOAD or FAKETIME* */
  int single_ready;          /* one READY line with key=host:port endpoints */
  int ready_timeout_ms;      /* 0: 5000 */
  int no_ready;              /* 1: no READY protocol (nginx, haproxy): gh_proc_start returns
                              * once the program was executed; the caller probes readiness */
} gh_proc_spec;

typedef struct gh_endpoint {
  char name[GH_PROC_NAME_MAX];
  int port;
} gh_endpoint;

typedef struct gh_proc {
  pid_t pid; /* also its process group; 0 once reaped */
  int out_fd;
  int faketime;
  int wait_status; /* waitpid status once reaped; -1: reaped by someone else */
  char stderr_path[GH_PROC_PATH_MAX];
  gh_endpoint endpoints[GH_PROC_MAX_ENDPOINTS];
  size_t count;
  char more[16384]; /* stdout after the READY protocol */
  size_t more_len;
} gh_proc;

/* Starts a process and waits for its READY protocol; *p is initialised first.
 * 0 when ready; -1 with why (the child, if it ran, is reaped; why includes
 * how it ended and the start of its stderr, or why it could not be
 * executed); p->pid is then 0 and gh_proc_stop a no-op. */
int gh_proc_start(gh_proc *p, const gh_proc_spec *spec, char *why, size_t why_len);
/* Like gh_proc_start for a process expected to fail before READY: 0 with its
 * exit status in p->wait_status when it exited (WIFEXITED, whatever it
 * printed); -1 when it got ready (then stopped), hung, ended by a signal or
 * could not be executed. */
int gh_proc_start_fails(gh_proc *p, const gh_proc_spec *spec, char *why, size_t why_len);
/* Port of the endpoint named name, or -1. */
int gh_proc_port(const gh_proc *p, const char *name);
/* Sends sig to its group, waits up to timeout_ms for it to end, then
 * SIGKILLs; whatever is left in its group is SIGKILLed when it is reaped.
 * Closes its stdout. 0 when it exited 0 on sig (or sig was SIGKILL and it
 * died); -1 otherwise with why. On a process gh_proc_alive found ended: 0
 * when it had exited 0 or sig is SIGKILL. */
int gh_proc_stop(gh_proc *p, int sig, int timeout_ms, char *why, size_t why_len);
/* Reads more stdout into p->more until quiet_ms pass without data, EOF, or
 * max_ms in all. Returns p->more_len (p->more stays NUL-terminated). */
size_t gh_proc_read_more(gh_proc *p, int quiet_ms, int max_ms);
/* 1 while the process runs; 0 once it has ended (it is then reaped, as by
 * gh_proc_stop, its stdout still readable until gh_proc_stop). */
int gh_proc_alive(gh_proc *p);

/* Writes "@<when>" ("2030-01-01 00:00:00") to path atomically (a unique temp
 * file in the same directory, then rename). */
int gh_faketime_write(const char *path, const char *when, char *why, size_t why_len);
/* The same for ms since the epoch (whole seconds, UTC; callers set TZ=UTC). */
int gh_faketime_write_ms(const char *path, long long ms, char *why, size_t why_len);
/* Stops the clock at ms (whole seconds, UTC): "<when>" without "@" - every
 * process reading the file sees exactly that time until the next write. The
 * runner uses it so that a step's time does not drift while real time passes
 * (monotonic time stays real, so timers keep working). */
int gh_faketime_freeze_ms(const char *path, long long ms, char *why, size_t why_len);

#endif
