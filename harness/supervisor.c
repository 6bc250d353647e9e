/* supervisor.c - starting, watching and stopping the processes of a case.
 *
 * A process is started with fork + execve. Between the two the child makes
 * itself the leader of its own process group, asks the kernel for SIGKILL
 * when its parent dies (PR_SET_PDEATHSIG, then checks that the parent did not
 * die before that took effect), puts /dev/null on stdin, the write end of a
 * pipe on stdout and a 0600 file on stderr, resets every signal disposition
 * and the signal mask, and execs with an environment built before the fork
 * (only async-signal-safe calls after fork). Every descriptor we open is
 * close-on-exec, so a child never holds another child's pipe. A second
 * close-on-exec pipe tells the parent whether execve succeeded: EOF means it
 * did, an errno means it did not, which turns "exit 127" into "cannot
 * execute /x: No such file or directory".
 *
 * Its stdout is read until the READY protocol is complete (see supervisor.h),
 * bounded by a real CLOCK_MONOTONIC deadline; what follows the last READY line
 * is kept in p->more. A process is stopped by signalling its group, waiting a
 * bounded time for the leader to end, then SIGKILLing the group. The leader
 * is watched with waitid(WNOWAIT) and reaped only after a last SIGKILL to its
 * group: while it is an unreaped zombie its pid, which is the group id, cannot
 * be reused, so that SIGKILL reaches only what the process left behind.
 *
 * libfaketime (libfaketimeMT) keeps a shared-memory clock per process in
 * /dev/shm/faketime_shm_<pid> and a semaphore sem.faketime_sem_<pid>, removed
 * by its destructor at a clean exit only: they are removed here for every
 * preloaded process, between its end and its reaping (see reap).
 *
 * The environment of a child is ours minus LD_PRELOAD and every FAKETIME*
 * variable (a harness running under libfaketime must not hand that on), with
 * spec->env entries replacing ours of the same name. With a faketime file,
 * LD_PRELOAD, FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1 and
 * FAKETIME_DONT_FAKE_MONOTONIC=1 are added, and ASAN_OPTIONS gets
 * verify_asan_link_order=0 appended: a sanitizer build aborts at start when
 * another library is preloaded before libasan.
 *
 * There is no global state: everything lives in the caller's gh_proc.
 * Nothing prints; every failure returns -1 with a one-line reason in why.
 */
#include "gutil.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_READY_TIMEOUT_MS 5000
#define REAP_AFTER_EOF_MS        3000 /* a child that closed stdout, to exit */
#define KILL_REAP_MS             3000 /* a SIGKILLed child, before waiting unbounded */
#define POLL_STEP_MS             2
#define READY_LINE_MAX           8192
#define STATUS_UNKNOWN           (-1) /* wait_status of a child reaped by someone else */

/* ---- small helpers ------------------------------------------------------- */

/* Success: an empty why. */
static int say_nothing(char *why, size_t why_len) {
  if (why != NULL && why_len > 0)
    why[0] = '\0';
  return 0;
}

static int ms_left(double deadline) {
  double left = deadline - gu_now_ms();
  return left <= 0 ? 0 : left > 1e9 ? 1000000000 : (int)left + 1;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* A descriptor above 2, so that the child's dup2 onto 0, 1 and 2 never
 * overwrites one it still needs (a parent started with a standard descriptor
 * closed gets 0, 1 or 2 back from open or pipe). Closes fd on failure. */
static int above_std(int fd) {
  if (fd < 0 || fd > 2)
    return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

static void describe_status(int status, char *out, size_t len) {
  if (status == STATUS_UNKNOWN)
    snprintf(out, len, "reaped elsewhere, status unknown");
  else if (WIFEXITED(status))
    snprintf(out, len, "exit %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(out, len, "signal %d", WTERMSIG(status));
  else
    snprintf(out, len, "status 0x%x", (unsigned)status);
}

static int clean_exit(int status) {
  return status != STATUS_UNKNOWN && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Appends "; stderr: <its stderr file>" to why, as much as fits. */
static void append_stderr(const gh_proc *p, char *why, size_t why_len) {
  if (why == NULL || why_len == 0)
    return;
  size_t used = strnlen(why, why_len - 1);
  static const char label[] = "; stderr: ";
  if (used + sizeof(label) + 8 > why_len)
    return;
  memcpy(why + used, label, sizeof(label));
  used += sizeof(label) - 1;
  int fd = open(p->stderr_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why + used, why_len - used, "(unreadable: %s)", strerror(errno));
    return;
  }
  size_t start = used;
  while (used + 1 < why_len) {
    ssize_t got = read(fd, why + used, why_len - 1 - used);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    used += (size_t)got;
  }
  close(fd);
  while (used > start && (why[used - 1] == '\n' || why[used - 1] == '\r' || why[used - 1] == ' '))
    used--;
  why[used] = '\0';
  if (used == start)
    snprintf(why + used, why_len - used, "(empty)");
}

/* ---- reaping --------------------------------------------------------------- */

static void remove_faketime_shm(pid_t pid) {
  char path[128];
  snprintf(path, sizeof(path), "/dev/shm/faketime_shm_%ld", (long)pid);
  unlink(path);
  snprintf(path, sizeof(path), "/dev/shm/sem.faketime_sem_%ld", (long)pid);
  unlink(path);
}

/* 1 when pid has ended (a zombie, not yet reaped), 0 while it runs, -1 when
 * it is not our child (reaped by someone else). */
static int has_ended(pid_t pid) {
  for (;;) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
      return info.si_pid == pid ? 1 : 0;
    if (errno != EINTR)
      return -1;
  }
}

/* Reaps p's leader, which has ended or was SIGKILLed (ours: 1), or records
 * that someone else reaped it (ours: 0; then nothing is signalled or removed,
 * its pid may be anyone's by now). For our child a last SIGKILL goes to its
 * group first, for whatever it left behind, and libfaketime's files are
 * removed while it is still an unreaped zombie: that keeps its pid, which
 * names them and is its group id, from being reused meanwhile. A clean exit
 * has removed them already (libfaketime's destructor); any other end, or an
 * _exit that skips the destructor, has not. */
static void reap(gh_proc *p, int ours) {
  int status = STATUS_UNKNOWN;
  if (ours) {
    kill(-p->pid, SIGKILL);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    while (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    if (p->faketime)
      remove_faketime_shm(p->pid);
  }
  while (ours) {
    int st = 0;
    pid_t r = waitpid(p->pid, &st, 0);
    if (r == p->pid)
      status = st;
    if (r < 0 && errno == EINTR)
      continue;
    break; /* reaped, or ECHILD: reaped by someone else */
  }
  p->wait_status = status;
  p->pid = 0;
}

/* Waits up to ms for p's leader to end and reaps it: 1 when reaped, 0 when it
 * still runs. */
static int reap_within(gh_proc *p, int ms) {
  double deadline = gu_now_ms() + ms;
  for (;;) {
    int ended = has_ended(p->pid);
    if (ended != 0) {
      reap(p, ended == 1);
      return 1;
    }
    if (gu_now_ms() >= deadline)
      return 0;
    gu_sleep_ms(POLL_STEP_MS);
  }
}

/* Sends sig to p's group (or to p alone if it left its group). */
static void signal_group(const gh_proc *p, int sig) {
  if (kill(-p->pid, sig) != 0 && errno == ESRCH)
    kill(p->pid, sig);
}

/* SIGKILLs and reaps a child being given up on (its start failed). SIGKILL
 * cannot be caught, so after KILL_REAP_MS the wait is unbounded: only the
 * kernel can delay it, and an unreaped child would be a zombie of ours. */
static void kill_and_reap(gh_proc *p) {
  if (p->pid > 0) {
    signal_group(p, SIGKILL);
    if (!reap_within(p, KILL_REAP_MS))
      reap(p, 1);
  }
  close_fd(&p->out_fd);
}

/* ---- the child's environment --------------------------------------------- */

typedef struct child_env {
  char **vars; /* NULL-terminated, borrowed from environ and spec->env or owned */
  size_t count;
  char *owned[5];
  size_t owned_count;
} child_env;

static void env_free(child_env *env) {
  for (size_t i = 0; i < env->owned_count; i++)
    free(env->owned[i]);
  free(env->vars);
  memset(env, 0, sizeof(*env));
}

/* Length of the name of a "NAME=value" entry, or 0 when it has none. */
static size_t env_name_len(const char *entry) {
  const char *eq = strchr(entry, '=');
  return eq != NULL ? (size_t)(eq - entry) : 0;
}

static int env_is(const char *entry, const char *name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* LD_PRELOAD and libfaketime's variables: never inherited. */
static int env_faketime_var(const char *entry) {
  return env_is(entry, "LD_PRELOAD") || env_is(entry, "FAKETIME") ||
         strncmp(entry, "FAKETIME_", 9) == 0;
}

static int env_named_in(const char *entry, const char *const *list) {
  size_t n = env_name_len(entry);
  for (size_t i = 0; n > 0 && list != NULL && list[i] != NULL; i++) {
    if (env_name_len(list[i]) == n && strncmp(entry, list[i], n) == 0)
      return 1;
  }
  return 0;
}

static int env_own(child_env *env, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int env_own(child_env *env, char *why, size_t why_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *entry = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (entry == NULL || env->owned_count == sizeof(env->owned) / sizeof(env->owned[0])) {
    free(entry);
    return gu_fail(why, why_len, "out of memory building the environment");
  }
  va_start(ap, fmt);
  vsnprintf(entry, (size_t)n + 1, fmt, ap);
  va_end(ap);
  env->owned[env->owned_count++] = entry;
  env->vars[env->count++] = entry;
  env->vars[env->count] = NULL;
  return 0;
}

static int env_build(child_env *env, const gh_proc_spec *spec, char *why, size_t why_len) {
  memset(env, 0, sizeof(*env));
  int faketime = spec->faketime_file != NULL;
  size_t ours = 0, extra = 0;
  for (char **e = environ; e != NULL && *e != NULL; e++)
    ours++;
  for (size_t i = 0; spec->env != NULL && spec->env[i] != NULL; i++) {
    const char *entry = spec->env[i];
    if (env_name_len(entry) == 0)
      return gu_fail(why, why_len, "environment entry \"%s\" is not NAME=value", entry);
    if (faketime && env_faketime_var(entry))
      return gu_fail(why, why_len, "environment entry \"%.*s\" conflicts with faketime",
                     (int)env_name_len(entry), entry);
    for (size_t j = 0; j < i; j++) {
      if (env_name_len(spec->env[j]) == env_name_len(entry) &&
          strncmp(spec->env[j], entry, env_name_len(entry)) == 0)
        return gu_fail(why, why_len, "environment entry \"%.*s\" given twice",
                       (int)env_name_len(entry), entry);
    }
    extra++;
  }
  env->vars = calloc(ours + extra + 8, sizeof(char *));
  if (env->vars == NULL)
    return gu_fail(why, why_len, "out of memory building the environment");

  const char *asan = NULL; /* ASAN_OPTIONS to extend under faketime */
  for (char **e = environ; e != NULL && *e != NULL; e++) {
    if (env_faketime_var(*e) || env_named_in(*e, spec->env))
      continue;
    if (faketime && env_is(*e, "ASAN_OPTIONS")) {
      asan = *e + sizeof("ASAN_OPTIONS");
      continue;
    }
    env->vars[env->count++] = *e;
  }
  for (size_t i = 0; i < extra; i++) {
    if (faketime && env_is(spec->env[i], "ASAN_OPTIONS")) {
      asan = spec->env[i] + sizeof("ASAN_OPTIONS");
      continue;
    }
    env->vars[env->count++] = (char *)spec->env[i];
  }
  env->vars[env->count] = NULL;
  if (!faketime)
    return 0;
  if (env_own(env, why, why_len, "LD_PRELOAD=%s", spec->faketime_lib) != 0 ||
      env_own(env, why, why_len, "FAKETIME_TIMESTAMP_FILE=%s", spec->faketime_file) != 0 ||
      env_own(env, why, why_len, "FAKETIME_NO_CACHE=1") != 0 ||
      env_own(env, why, why_len, "FAKETIME_DONT_FAKE_MONOTONIC=1") != 0 ||
      env_own(env, why, why_len, "ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "",
              asan && *asan ? ":" : "") != 0) {
    env_free(env);
    return -1;
  }
  return 0;
}

/* ---- starting ------------------------------------------------------------ */

/* What the child reports through the exec pipe when it cannot exec. */
typedef struct child_error {
  int step;
  int err;
} child_error;

enum { STEP_PDEATHSIG = 1, STEP_DUP2, STEP_EXEC };

__attribute__((noreturn)) static void child_fail(int fd, int step) {
  child_error ce = {step, errno};
  ssize_t w;
  do {
    w = write(fd, &ce, sizeof(ce));
  } while (w < 0 && errno == EINTR);
  _exit(127);
}

/* The child, from fork to execve: async-signal-safe calls only. */
__attribute__((noreturn)) static void child_run(const char *bin, char *const *argv,
                                                char *const *envp, pid_t parent, const int fds[4]) {
  int in_fd = fds[0], out_fd = fds[1], err_fd = fds[2], exec_fd = fds[3];
  setpgid(0, 0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
    child_fail(exec_fd, STEP_PDEATHSIG);
  if (getppid() != parent)
    _exit(127); /* the parent died before prctl took effect: nobody is waiting */
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
    child_fail(exec_fd, STEP_DUP2);
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &dfl, NULL); /* ignored signals would stay ignored across exec */
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(bin, argv, envp);
  child_fail(exec_fd, STEP_EXEC);
}

/* Waits (until deadline) for the exec pipe: 0 when execve succeeded (EOF),
 * -1 with why when the child failed before it or did not get there. */
static int exec_result(int fd, const char *bin, double deadline, char *why, size_t why_len) {
  child_error ce = {0, 0};
  size_t have = 0;
  while (have < sizeof(ce)) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int left = ms_left(deadline);
    int pr = left > 0 ? poll(&pfd, 1, left) : 0;
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr <= 0)
      return gu_fail(why, why_len, "%s did not get to execve in time", bin);
    ssize_t got = read(fd, (char *)&ce + have, sizeof(ce) - have);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    have += (size_t)got;
  }
  if (have == 0)
    return 0;
  if (have < sizeof(ce))
    return gu_fail(why, why_len, "%s: short report from the child before execve", bin);
  const char *what = ce.step == STEP_EXEC        ? "cannot execute"
                     : ce.step == STEP_PDEATHSIG ? "prctl(PR_SET_PDEATHSIG) failed for"
                                                 : "dup2 failed for";
  return gu_fail(why, why_len, "%s %s: %s", what, bin, strerror(ce.err));
}

/* Forks and execs spec->bin with p's pipe, stderr file and environment. On
 * failure the child, if there was one, is reaped. */
static int spawn(gh_proc *p, const gh_proc_spec *spec, double deadline, char *why, size_t why_len) {
  if (spec->bin == NULL || *spec->bin == '\0')
    return gu_fail(why, why_len, "no program to start");
  if (spec->stderr_path == NULL || *spec->stderr_path == '\0')
    return gu_fail(why, why_len, "no stderr path for %s", spec->bin);
  if (spec->faketime_file != NULL && (spec->faketime_lib == NULL || *spec->faketime_lib == '\0'))
    return gu_fail(why, why_len, "a faketime file without the libfaketime library");
  size_t n = strlen(spec->stderr_path);
  if (n >= sizeof(p->stderr_path))
    return gu_fail(why, why_len, "stderr path too long: %s", spec->stderr_path);
  memcpy(p->stderr_path, spec->stderr_path, n + 1);
  p->faketime = spec->faketime_file != NULL;

  const char *argv[GH_PROC_MAX_ARGS + 2];
  size_t argc = 0;
  argv[argc++] = spec->bin;
  for (size_t i = 0; spec->args != NULL && spec->args[i] != NULL; i++) {
    if (argc > GH_PROC_MAX_ARGS)
      return gu_fail(why, why_len, "more than %d arguments", GH_PROC_MAX_ARGS);
    argv[argc++] = spec->args[i];
  }
  argv[argc] = NULL;

  child_env env;
  if (env_build(&env, spec, why, why_len) != 0)
    return -1;

  /* in, out (read, write), err, exec (read, write) */
  int fds[6] = {-1, -1, -1, -1, -1, -1};
  int ok = 1;
  fds[0] = above_std(open("/dev/null", O_RDONLY | O_CLOEXEC));
  fds[3] = above_std(open(p->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fds[3] < 0) {
    gu_fail(why, why_len, "cannot create %s: %s", p->stderr_path, strerror(errno));
    ok = 0;
  } else {
    struct stat st;
    if (fstat(fds[3], &st) == 0 && S_ISREG(st.st_mode))
      fchmod(fds[3], 0600); /* it may have existed with other permissions */
  }
  int pipe_fds[2];
  if (ok && pipe2(pipe_fds, O_CLOEXEC) == 0) {
    fds[1] = above_std(pipe_fds[0]);
    fds[2] = above_std(pipe_fds[1]);
  }
  if (ok && pipe2(pipe_fds, O_CLOEXEC) == 0) {
    fds[4] = above_std(pipe_fds[0]);
    fds[5] = above_std(pipe_fds[1]);
  }
  if (ok && (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 || fds[4] < 0 || fds[5] < 0)) {
    gu_fail(why, why_len, "descriptors for %s: %s", spec->bin, strerror(errno));
    ok = 0;
  }
  pid_t parent = getpid();
  pid_t pid = ok ? fork() : -1;
  if (ok && pid < 0) {
    gu_fail(why, why_len, "fork: %s", strerror(errno));
    ok = 0;
  }
  if (pid == 0) {
    const int child_fds[4] = {fds[0], fds[2], fds[3], fds[5]};
    child_run(spec->bin, (char *const *)argv, env.vars, parent, child_fds);
  }
  env_free(&env);
  if (ok)
    setpgid(pid, pid); /* also here: no race with a kill(-pid) right after fork */
  for (int i = 0; i < 6; i++) {
    if (i != 1 && i != 4)
      close_fd(&fds[i]);
  }
  if (!ok) {
    close_fd(&fds[1]);
    close_fd(&fds[4]);
    return -1;
  }
  p->pid = pid;
  p->out_fd = fds[1];
  int rc = exec_result(fds[4], spec->bin, deadline, why, why_len);
  close_fd(&fds[4]);
  if (rc != 0)
    kill_and_reap(p);
  return rc;
}

/* ---- the READY protocols ----------------------------------------------- */

/* The single READY line of a process such as gatecert-sim:
 * "READY <name> key=127.0.0.1:port [key=127.0.0.1:port]...". 1 or -1. */
static int single_ready_line(gh_proc *p, const char *line, char *why, size_t why_len) {
  static const char ready[] = "READY ";
  static const char loopback[] = "=127.0.0.1:";
  if (strncmp(line, ready, sizeof(ready) - 1) != 0)
    return gu_fail(why, why_len, "unexpected line before READY: \"%s\"", line);
  const char *tok = strchr(line + sizeof(ready) - 1, ' ');
  while (tok != NULL && *tok == ' ') {
    tok++;
    const char *eq = strstr(tok, loopback);
    const char *end = strchr(tok, ' ');
    if (end == NULL)
      end = tok + strlen(tok);
    if (eq == NULL || eq > end || eq == tok || (size_t)(eq - tok) >= GH_PROC_NAME_MAX)
      return gu_fail(why, why_len, "malformed READY line \"%s\"", line);
    char *num_end = NULL;
    long port = strtol(eq + sizeof(loopback) - 1, &num_end, 10);
    if (num_end != end || port < 1 || port > 65535)
      return gu_fail(why, why_len, "bad port in READY line \"%s\"", line);
    if (p->count == GH_PROC_MAX_ENDPOINTS)
      return gu_fail(why, why_len, "more than %d endpoints in READY line \"%s\"",
                     GH_PROC_MAX_ENDPOINTS, line);
    gh_endpoint *ep = &p->endpoints[p->count++];
    memcpy(ep->name, tok, (size_t)(eq - tok));
    ep->name[eq - tok] = '\0';
    ep->port = (int)port;
    tok = end;
  }
  return p->count > 0 ? 1 : gu_fail(why, why_len, "READY line without endpoints: \"%s\"", line);
}

/* One line of "READY <name> https=127.0.0.1:P" lines ended by "READY-ALL <n>".
 * 1: READY-ALL seen, 0: more to come, -1. */
static int ready_line(gh_proc *p, const char *line, char *why, size_t why_len) {
  static const char ready[] = "READY ";
  static const char all[] = "READY-ALL ";
  static const char https[] = " https=127.0.0.1:";
  if (strncmp(line, all, sizeof(all) - 1) == 0) {
    char *end = NULL;
    long n = strtol(line + sizeof(all) - 1, &end, 10);
    if (end == line + sizeof(all) - 1 || *end != '\0' || n != (long)p->count)
      return gu_fail(why, why_len, "bad line \"%s\": %zu READY lines before it", line, p->count);
    return 1;
  }
  if (strncmp(line, ready, sizeof(ready) - 1) != 0)
    return gu_fail(why, why_len, "unexpected line before READY-ALL: \"%s\"", line);
  const char *name = line + sizeof(ready) - 1;
  const char *sp = strstr(name, https);
  if (sp == NULL || sp == name || (size_t)(sp - name) >= GH_PROC_NAME_MAX ||
      memchr(name, ' ', (size_t)(sp - name)) != NULL)
    return gu_fail(why, why_len, "malformed READY line \"%s\"", line);
  char *end = NULL;
  long port = strtol(sp + sizeof(https) - 1, &end, 10);
  if (end == sp + sizeof(https) - 1 || *end != '\0' || port < 1 || port > 65535)
    return gu_fail(why, why_len, "bad port in READY line \"%s\"", line);
  if (p->count == GH_PROC_MAX_ENDPOINTS)
    return gu_fail(why, why_len, "more than %d READY lines", GH_PROC_MAX_ENDPOINTS);
  gh_endpoint *ep = &p->endpoints[p->count++];
  memcpy(ep->name, name, (size_t)(sp - name));
  ep->name[sp - name] = '\0';
  ep->port = (int)port;
  return 0;
}

/* Reads stdout lines until the protocol is complete or deadline (timeout_ms,
 * for the message, is what it was). 1: ready; 0: the child closed stdout
 * (exited) first; -1: timeout or protocol error. */
static int wait_ready(gh_proc *p, int single, double deadline, int timeout_ms, char *why,
                      size_t why_len) {
  char buf[READY_LINE_MAX] = {0};
  size_t len = 0;
  for (;;) {
    char *nl;
    while ((nl = memchr(buf, '\n', len)) != NULL) {
      *nl = '\0';
      int r = single ? single_ready_line(p, buf, why, why_len) : ready_line(p, buf, why, why_len);
      size_t used = (size_t)(nl - buf) + 1;
      memmove(buf, nl + 1, len - used);
      len -= used;
      if (r != 0) {
        if (r == 1 && len > 0) { /* keep what followed the last READY line */
          p->more_len = len < sizeof(p->more) - 1 ? len : sizeof(p->more) - 1;
          memcpy(p->more, buf, p->more_len);
          p->more[p->more_len] = '\0';
        }
        return r;
      }
    }
    if (len == sizeof(buf))
      return gu_fail(why, why_len, "READY line longer than %zu bytes", sizeof(buf));
    int left = ms_left(deadline);
    if (left <= 0)
      return single ? gu_fail(why, why_len, "no READY line within %d ms", timeout_ms)
                    : gu_fail(why, why_len, "no READY-ALL within %d ms (%zu READY lines)",
                              timeout_ms, p->count);
    struct pollfd pfd = {p->out_fd, POLLIN, 0};
    int pr = poll(&pfd, 1, left);
    if (pr <= 0) /* EINTR or the deadline: checked above */
      continue;
    ssize_t got = read(p->out_fd, buf + len, sizeof(buf) - len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return 0;
    len += (size_t)got;
  }
}

static void proc_init(gh_proc *p) {
  memset(p, 0, sizeof(*p));
  p->out_fd = -1;
}

static int ready_timeout(const gh_proc_spec *spec) {
  return spec->ready_timeout_ms > 0 ? spec->ready_timeout_ms : DEFAULT_READY_TIMEOUT_MS;
}

int gh_proc_start(gh_proc *p, const gh_proc_spec *spec, char *why, size_t why_len) {
  proc_init(p);
  int timeout = ready_timeout(spec);
  double deadline = gu_now_ms() + timeout;
  if (spawn(p, spec, deadline, why, why_len) != 0)
    return -1;
  if (spec->no_ready)
    return say_nothing(why, why_len);
  int r = wait_ready(p, spec->single_ready, deadline, timeout, why, why_len);
  if (r == 1)
    return say_nothing(why, why_len);
  const char *name = base_name(spec->bin);
  if (r == 0) {
    if (!reap_within(p, REAP_AFTER_EOF_MS)) {
      gu_fail(why, why_len, "%s closed stdout before READY and is still running", name);
    } else {
      char how[64];
      describe_status(p->wait_status, how, sizeof(how));
      gu_fail(why, why_len, "%s ended before READY (%s, %zu endpoints)", name, how, p->count);
    }
  }
  append_stderr(p, why, why_len);
  kill_and_reap(p);
  return -1;
}

int gh_proc_start_fails(gh_proc *p, const gh_proc_spec *spec, char *why, size_t why_len) {
  proc_init(p);
  int timeout = ready_timeout(spec);
  double deadline = gu_now_ms() + timeout;
  if (spawn(p, spec, deadline, why, why_len) != 0)
    return -1;
  const char *name = base_name(spec->bin);
  /* an early protocol error is no answer: what counts is how it ends */
  if (wait_ready(p, spec->single_ready, deadline, timeout, why, why_len) == 1) {
    gu_fail(why, why_len, "%s got ready (%zu endpoints) but should have failed", name, p->count);
    gh_proc_stop(p, SIGTERM, KILL_REAP_MS, NULL, 0);
    return -1;
  }
  if (!reap_within(p, timeout)) {
    gu_fail(why, why_len, "%s neither got ready nor exited within %d ms", name, timeout);
    kill_and_reap(p);
    return -1;
  }
  close_fd(&p->out_fd);
  if (p->wait_status == STATUS_UNKNOWN || !WIFEXITED(p->wait_status)) {
    char how[64];
    describe_status(p->wait_status, how, sizeof(how));
    gu_fail(why, why_len, "%s did not exit normally (%s)", name, how);
    append_stderr(p, why, why_len);
    return -1;
  }
  return say_nothing(why, why_len);
}

int gh_proc_port(const gh_proc *p, const char *name) {
  for (size_t i = 0; p != NULL && name != NULL && i < p->count; i++) {
    if (strcmp(p->endpoints[i].name, name) == 0)
      return p->endpoints[i].port;
  }
  return -1;
}

/* ---- watching and stopping ----------------------------------------------- */

size_t gh_proc_read_more(gh_proc *p, int quiet_ms, int max_ms) {
  double deadline = gu_now_ms() + max_ms;
  if (p->more_len > sizeof(p->more) - 1)
    p->more_len = sizeof(p->more) - 1;
  while (p->out_fd >= 0 && p->more_len < sizeof(p->more) - 1) {
    int left = ms_left(deadline);
    if (left <= 0)
      break;
    struct pollfd pfd = {p->out_fd, POLLIN, 0};
    int pr = poll(&pfd, 1, left < quiet_ms ? left : quiet_ms);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr <= 0)
      break;
    ssize_t got = read(p->out_fd, p->more + p->more_len, sizeof(p->more) - 1 - p->more_len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    p->more_len += (size_t)got;
  }
  p->more[p->more_len] = '\0';
  return p->more_len;
}

int gh_proc_alive(gh_proc *p) {
  if (p->pid <= 0)
    return 0;
  int ended = has_ended(p->pid);
  if (ended == 0)
    return 1;
  reap(p, ended == 1);
  return 0;
}

int gh_proc_stop(gh_proc *p, int sig, int timeout_ms, char *why, size_t why_len) {
  int rc = 0;
  char how[64];
  if (p->pid > 0) {
    long pid = (long)p->pid;
    signal_group(p, sig);
    if (!reap_within(p, timeout_ms)) {
      signal_group(p, SIGKILL);
      if (!reap_within(p, KILL_REAP_MS))
        reap(p, 1); /* SIGKILL: see kill_and_reap */
      rc = gu_fail(why, why_len, "process %ld ignored signal %d for %d ms: killed", pid, sig,
                   timeout_ms);
    } else if (sig != SIGKILL && !clean_exit(p->wait_status)) {
      describe_status(p->wait_status, how, sizeof(how));
      rc = gu_fail(why, why_len, "process %ld ended with %s on signal %d, not exit 0", pid, how,
                   sig);
      append_stderr(p, why, why_len);
    }
  } else if (p->out_fd >= 0 && sig != SIGKILL && !clean_exit(p->wait_status)) {
    /* it ended by itself before the stop (seen by gh_proc_alive) */
    describe_status(p->wait_status, how, sizeof(how));
    rc = gu_fail(why, why_len, "process had already ended (%s) before signal %d", how, sig);
    append_stderr(p, why, why_len);
  }
  close_fd(&p->out_fd);
  return rc;
}

/* ---- fake time ----------------------------------------------------------- */

/* The timestamp file holds "@<when>" (a clock that runs on from <when>) or
 * "<when>" (a clock that stands still at <when>). */
static int write_clock(const char *path, const char *prefix, const char *when, char *why,
                       size_t why_len) {
  if (path == NULL || when == NULL || *when == '\0' || strpbrk(when, "\r\n") != NULL)
    return gu_fail(why, why_len, "bad fake time \"%s\"", when ? when : "(null)");
  char tmp[GH_PROC_PATH_MAX + 16];
  int n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
  if (n < 0 || (size_t)n >= sizeof(tmp))
    return gu_fail(why, why_len, "path too long: %s", path);
  int fd = mkostemp(tmp, O_CLOEXEC); /* unique: writers of one clock do not collide */
  if (fd < 0)
    return gu_fail(why, why_len, "cannot create %s: %s", tmp, strerror(errno));
  (void)fchmod(fd, 0644); /* not a secret: gateway workers that dropped privileges read it */
  char line[256];
  int len = snprintf(line, sizeof(line), "%s%s\n", prefix, when);
  int ok = len > 0 && (size_t)len < sizeof(line);
  for (size_t off = 0; ok && off < (size_t)len;) {
    ssize_t w = write(fd, line + off, (size_t)len - off);
    if (w < 0 && errno == EINTR)
      continue;
    ok = w > 0;
    off += ok ? (size_t)w : 0;
  }
  int err = ok ? 0 : errno;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    if (ok)
      err = errno;
    unlink(tmp);
    return gu_fail(why, why_len, "cannot write %s: %s", path,
                   err ? strerror(err) : "fake time too long");
  }
  return 0;
}

int gh_faketime_write(const char *path, const char *when, char *why, size_t why_len) {
  return write_clock(path, "@", when, why, why_len);
}

static int format_ms(long long ms, char when[64]) {
  long long secs = ms / 1000 - (ms % 1000 < 0); /* floor */
  time_t t = (time_t)secs;
  struct tm tm;
  return (long long)t == secs && gmtime_r(&t, &tm) != NULL &&
                 strftime(when, 64, "%Y-%m-%d %H:%M:%S", &tm) != 0
             ? 0
             : -1;
}

int gh_faketime_write_ms(const char *path, long long ms, char *why, size_t why_len) {
  char when[64];
  if (format_ms(ms, when) != 0)
    return gu_fail(why, why_len, "fake time %lld ms cannot be written", ms);
  return write_clock(path, "@", when, why, why_len);
}

int gh_faketime_freeze_ms(const char *path, long long ms, char *why, size_t why_len) {
  char when[64];
  if (format_ms(ms, when) != 0)
    return gu_fail(why, why_len, "fake time %lld ms cannot be written", ms);
  return write_clock(path, "", when, why, why_len);
}
