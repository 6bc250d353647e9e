/* exec.c - the `exec` driver: any program that speaks gatecert-exec/2 (or /1).
 *
 * A vendor plugs a gateway into gatecert without writing C: every driver
 * operation is one run of an ordinary program, `PROGRAM VERB [ARG]...`, which
 * answers on stdout with `key=value` lines (and, for admin verbs, the
 * gateway's answer body) and with its exit status: 0 it did it, 89 it does
 * not support that verb (the case is skipped with that reason, as BoringSSL's
 * BoGo shims do), anything else it broke (a harness error carrying the end of
 * its stderr). The protocol is documented in EXEC.md next to this file.
 *
 * `hello` runs once, in the constructor, and gives the protocol version, the
 * program's name and version, its capabilities and (version 2) its answers to
 * the rejection classes, so the ops (name, capabilities, rejection table) are
 * per driver, not static. start() writes the gateway configuration as JSON
 * (gatecert-sim's --config schema) next to the case's files, and for version 2
 * a second file with what that schema cannot say (the case and its matrix
 * row, upstream session reuse, the load balancer in front and the identity
 * the gateway presents to it); it hands the program a directory of its own
 * for state between invocations, plus the case's fake clock in the
 * environment. With a load balancer in front, the driver runs it (front_lb.h)
 * before the program's data plane, as the sim driver does. The gateway's clock
 * as the program read it (clock_ms=, version 2) is the runner's clock check.
 *
 * Each run: fork + execve with stdin on /dev/null and stdout and stderr on
 * pipes; the child leads its own process group and dies with us
 * (PR_SET_PDEATHSIG). We poll the pipes and a pidfd until the program exits,
 * the real-time timeout passes, or stdout exceeds 1 MiB; then the whole group
 * is SIGKILLed while the leader is still an unreaped zombie (so its pid, the
 * group id, cannot have been reused), and it is reaped. A program that leaves
 * a gateway running must have moved it out of its group (setsid). Every
 * invocation is appended to exec-transcript.log in the case's directory.
 *
 * Nothing here prints: failures return -1 with a one-line reason in why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "simconfig.h"
#include "driver.h"
#include "front_lb.h"
#include "gutil.h"

#define PROTOCOL_PREFIX  "gatecert-exec/"
#define PROTOCOL_MAX     2 /* GATECERT_EXEC_PROTOCOL: the newest this harness speaks */
#define EXIT_UNSUPPORTED 89
#define TIMEOUT_MS       30000  /* every verb but start and restart */
#define START_TIMEOUT_MS 120000 /* a real gateway can take a minute to start */
#define TIMEOUT_MAX_MS   3600000
#define OUT_MAX          ((size_t)1024 * 1024)
#define BODY_FILE_MAX    ((off_t)16 * 1024 * 1024)
#define ERR_TAIL         2048
#define ERR_SHOWN        400
#define HEADER_LINE_MAX  4096
#define MAX_ITEMS        64
#define MAX_SECRETS      8
#define MAX_ARGS         (8 + 2 * 32)
#define DIR_LEN          2048
#define TRANSCRIPT_OUT   4096
#define POLL_FALLBACK_MS 5 /* without a pidfd, how often to look for the exit */

typedef struct exec_driver {
  gh_driver_ops ops; /* name and capabilities come from hello */
  char *program;     /* absolute path */
  char *out;         /* OUT_MAX + 1 bytes: the current run's stdout */
  char *label;       /* "exec:" + the program as given: ops.name */
  const char *shown; /* the program's base name, for messages */
  char profile[16];
  int timeout_ms; /* GATECERT_EXEC_TIMEOUT_MS, or 0 for the defaults */
  char *secrets[MAX_SECRETS + 1];
  int protocol;                              /* 1 or 2, as hello said */
  gh_reject_answer rejects[GH_REJECT_COUNT]; /* version 2: hello's reject= lines */
  char faults[GH_REJECT_COUNT][40];          /* their fault codes */
  /* the case */
  char work_dir[DIR_LEN]; /* absolute */
  char exec_dir[DIR_LEN]; /* the program's own: work_dir/exec */
  char clock_file[DIR_LEN];
  char faketime_lib[DIR_LEN];
  char trust_store[DIR_LEN]; /* "" without a base trust store */
  int started;               /* start was run: stop is owed */
  int https_port;
  int64_t start_ms;
  int64_t clock_ms; /* the gateway's clock at the last start, restart or clock-sync; -1 */
  unsigned seq;
  /* the load balancer in front (version 2, lb-in-front) */
  gh_front_lb *lb;
  char nginx[DIR_LEN];
  char user_line[256];
  char server_cert[DIR_LEN + 32]; /* the identity the gateway presents to it */
  char server_key[DIR_LEN + 32];
  const char *lb_identity; /* cfg's front_lb_key_pem, NULL without a balancer */
  const char *lb_client_trust;
  const char *lb_header;
} exec_driver;

/* What one run of the program left. */
typedef struct run_output {
  char *out; /* stdout, NUL-terminated (the driver's buffer) */
  size_t out_len;
  char err[ERR_TAIL + 1]; /* the last bytes of stderr */
  size_t err_len;
  int exit_code;
  double ms;
} run_output;

typedef struct item {
  const char *key;
  const char *value;
} item;

/* A parsed answer; keys, values and body point into run.out. */
typedef struct reply {
  run_output run;
  item items[MAX_ITEMS];
  size_t count;
  const char *body;
  size_t body_len;
} reply;

/* What a verb may print: space-separated key lists. */
typedef struct verb_def {
  const char *name;
  const char *keys;       /* allowed */
  const char *required;   /* of those, required */
  const char *repeatable; /* of those, allowed more than once */
  int body;               /* a body may follow a blank line */
  int start_like;         /* the longer timeout */
} verb_def;

static const verb_def v_hello = {"hello",
                                 "protocol name version capabilities secret reject",
                                 "protocol name version capabilities",
                                 "secret reject",
                                 0,
                                 0};
static const verb_def v_start = {"start", "https_port start_ms clock_ms", "https_port", "", 0, 1};
static const verb_def v_restart = {"restart", "https_port start_ms clock_ms", "https_port", "", 0,
                                   1};
static const verb_def v_stop = {"stop", "", "", "", 0, 0};
static const verb_def v_reload = {"reload", "", "", "", 0, 0};
static const verb_def v_clock = {"clock-sync", "clock_ms", "", "", 0, 0};
static const verb_def v_create_api = {"create-api", "status body_file", "status", "", 1, 0};
static const verb_def v_delete_api = {"delete-api", "status body_file", "status", "", 1, 0};
static const verb_def v_redeploy_api = {"redeploy-api", "status body_file", "status", "", 1, 0};
static const verb_def v_upload = {"upload-cert", "status body_file", "status", "", 1, 0};
static const verb_def v_replace = {"replace-cert", "status body_file", "status", "", 1, 0};
static const verb_def v_delete_cert = {"delete-cert", "status body_file", "status", "", 1, 0};
static const verb_def v_log_tail = {"log-tail", "body_file", "", "", 1, 0};
static const verb_def v_add_km = {"add-key-manager", "status body_file", "status", "", 1, 0};
static const verb_def v_upload_client = {
    "upload-client-cert", "status body_file", "status", "", 1, 0};
static const verb_def v_delete_client = {
    "delete-client-cert", "status body_file", "status", "", 1, 0};
static const verb_def v_subscribe = {"subscribe", "status body_file", "status", "", 1, 0};
static const verb_def v_sap_store_cert = {"sap-store-cert", "status body_file", "status", "", 1, 0};
static const verb_def v_sap_reference = {"sap-reference", "status body_file", "status", "", 1, 0};
static const verb_def v_sap_provider = {"sap-provider", "status body_file", "status", "", 1, 0};

/* ---- small helpers ------------------------------------------------------------ */

static int ms_left(double deadline) {
  double left = deadline - gu_now_ms();
  return left <= 0 ? 0 : (int)left + 1;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* 1 when word is one of the space-separated words of list. */
static int in_list(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, " ");
    if (len == n && strncmp(p, word, n) == 0)
      return 1;
    p += len;
    p += *p == ' ';
  }
  return 0;
}

/* Printable ASCII of s[0..n) (the rest as '?'), at most out_len - 1 bytes. */
static const char *printable(const char *s, size_t n, char *out, size_t out_len) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < out_len; i++) {
    unsigned char c = (unsigned char)s[i];
    out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  out[k] = '\0';
  return out;
}

/* The end of stderr as one line: its last ERR_SHOWN bytes, newlines as " | ". */
static const char *stderr_tail(const run_output *o, char *out, size_t out_len) {
  size_t n = o->err_len;
  while (n > 0 && (o->err[n - 1] == '\n' || o->err[n - 1] == ' ' || o->err[n - 1] == '\r'))
    n--;
  size_t from = n > ERR_SHOWN ? n - ERR_SHOWN : 0;
  size_t k = 0;
  for (size_t i = from; i < n && k + 4 < out_len; i++) {
    unsigned char c = (unsigned char)o->err[i];
    if (c == '\n') {
      memcpy(out + k, " | ", 3);
      k += 3;
    } else
      out[k++] = c >= 0x20 && c != 0x7f ? (char)c : '?';
  }
  out[k] = '\0';
  return out;
}

/* A decimal integer in [min, max], nothing else. */
static int parse_int(const char *s, long long min, long long max, long long *out) {
  if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
    return -1;
  long long v = strtoll(s, NULL, 10);
  if (v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static int write_file(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, (const char *)data + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    done += (size_t)n;
  }
  return close(fd) == 0 && done == len ? 0 : -1;
}

/* The last max bytes of a regular file (all of it when max is 0, up to
 * BODY_FILE_MAX), NUL-terminated, in *out. */
static int read_file_tail(const char *path, size_t max, char **out, size_t *out_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (max == 0 && st.st_size > BODY_FILE_MAX)) {
    close(fd);
    errno = EFBIG;
    return -1;
  }
  size_t size = (size_t)st.st_size;
  size_t want = max > 0 && size > max ? max : size;
  char *buf = malloc(want + 1);
  size_t got = 0;
  if (buf && lseek(fd, (off_t)(size - want), SEEK_SET) >= 0) {
    while (got < want) {
      ssize_t n = read(fd, buf + got, want - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (size_t)n;
    }
  }
  close(fd);
  if (!buf)
    return -1;
  buf[got] = '\0';
  *out = buf;
  *out_len = got;
  return 0;
}

/* ---- the child's environment ------------------------------------------------------ */

typedef struct child_env {
  char **vars; /* NULL-terminated; borrowed from environ or in owned */
  size_t count;
  char *owned[16];
  size_t owned_count;
} child_env;

static void env_free(child_env *env) {
  for (size_t i = 0; i < env->owned_count; i++)
    free(env->owned[i]);
  free(env->vars);
  memset(env, 0, sizeof(*env));
}

static int env_add(child_env *env, const char *name, const char *value) {
  if (env->owned_count == sizeof(env->owned) / sizeof(env->owned[0]))
    return -1;
  size_t n = strlen(name) + strlen(value) + 2;
  char *entry = malloc(n);
  if (!entry)
    return -1;
  snprintf(entry, n, "%s=%s", name, value);
  env->owned[env->owned_count++] = entry;
  env->vars[env->count++] = entry;
  env->vars[env->count] = NULL;
  return 0;
}

/* Ours minus LD_PRELOAD, FAKETIME* and GATECERT_EXEC_*, plus the protocol's. */
static int env_build(exec_driver *x, int with_case, int timeout_ms, child_env *env) {
  memset(env, 0, sizeof(*env));
  size_t ours = 0;
  for (char **e = environ; e && *e; e++)
    ours++;
  env->vars = calloc(ours + 17, sizeof(char *));
  if (!env->vars)
    return -1;
  for (char **e = environ; e && *e; e++) {
    if (strncmp(*e, "LD_PRELOAD=", 11) == 0 || strncmp(*e, "FAKETIME", 8) == 0 ||
        strncmp(*e, "GATECERT_EXEC_", 14) == 0)
      continue;
    env->vars[env->count++] = *e;
  }
  char timeout[24], owner[24], protocol[8];
  snprintf(timeout, sizeof(timeout), "%d", timeout_ms);
  snprintf(owner, sizeof(owner), "%ld", (long)getpid());
  snprintf(protocol, sizeof(protocol), "%d", PROTOCOL_MAX);
  int rc = env_add(env, "GATECERT_EXEC_PROTOCOL", protocol) |
           env_add(env, "GATECERT_EXEC_PROFILE", x->profile) |
           env_add(env, "GATECERT_EXEC_TIMEOUT_MS", timeout) |
           env_add(env, "GATECERT_EXEC_OWNER_PID", owner);
  if (with_case) {
    rc |= env_add(env, "GATECERT_EXEC_DIR", x->exec_dir) |
          env_add(env, "GATECERT_EXEC_CLOCK_FILE", x->clock_file) |
          env_add(env, "GATECERT_EXEC_FAKETIME_LIB", x->faketime_lib);
    if (x->trust_store[0])
      rc |= env_add(env, "GATECERT_EXEC_TRUST_STORE", x->trust_store);
  }
  if (rc != 0)
    env_free(env);
  return rc != 0 ? -1 : 0;
}

/* ---- running the program ------------------------------------------------------------ */

/* The child, from fork to execve: async-signal-safe calls only. */
__attribute__((noreturn)) static void child_run(char *const *argv, char *const *envp, pid_t parent,
                                                const int fds[4]) {
  int null_fd = fds[0], out_fd = fds[1], err_fd = fds[2], report_fd = fds[3];
  setpgid(0, 0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
    _exit(127);
  int err = 0;
  if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
    err = errno;
  if (!err) {
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
      if (sig != SIGKILL && sig != SIGSTOP)
        sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(argv[0], argv, envp);
    err = errno;
  }
  ssize_t w;
  do {
    w = write(report_fd, &err, sizeof(err));
  } while (w < 0 && errno == EINTR);
  _exit(127);
}

/* Reads what is there from fd into the output; -1 at EOF or error, 1 when
 * stdout went over OUT_MAX. */
static int drain(int fd, int is_out, run_output *o) {
  char chunk[16384];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return 0;
    if (n <= 0)
      return -1;
    if (is_out) {
      if (o->out_len + (size_t)n > OUT_MAX)
        return 1;
      memcpy(o->out + o->out_len, chunk, (size_t)n);
      o->out_len += (size_t)n;
      o->out[o->out_len] = '\0';
    } else {
      size_t keep = (size_t)n >= ERR_TAIL ? 0 : ERR_TAIL - (size_t)n;
      if (o->err_len > keep) {
        memmove(o->err, o->err + (o->err_len - keep), keep);
        o->err_len = keep;
      }
      size_t take = (size_t)n > ERR_TAIL ? ERR_TAIL : (size_t)n;
      memcpy(o->err + o->err_len, chunk + ((size_t)n - take), take);
      o->err_len += take;
      o->err[o->err_len] = '\0';
    }
  }
}

static int exited(pid_t pid) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

enum { RUN_EXITED = 0, RUN_TIMEOUT, RUN_OVERFLOW, RUN_SIGNALED };

/* Watches the child until it exits, the deadline or the output bound; then
 * SIGKILLs its group and reaps it. fds: its stdout and stderr pipes, closed
 * (and set to -1) here at EOF. Returns RUN_*. */
static int watch(pid_t pid, int fds[2], int timeout_ms, run_output *o) {
  int pidfd = -1;
#ifdef SYS_pidfd_open
  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
  double deadline = gu_now_ms() + timeout_ms;
  int outcome = RUN_TIMEOUT;
  for (;;) {
    if (exited(pid)) {
      outcome = RUN_EXITED;
      break;
    }
    int left = ms_left(deadline);
    if (left == 0)
      break;
    struct pollfd pfd[3];
    nfds_t n = 0;
    int which[3];
    for (int i = 0; i < 2; i++)
      if (fds[i] >= 0) {
        pfd[n] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        which[n++] = i;
      }
    if (pidfd >= 0) {
      pfd[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
      which[n++] = 2;
    }
    int step = pidfd >= 0 ? left : left < POLL_FALLBACK_MS ? left : POLL_FALLBACK_MS;
    if (poll(pfd, n, step) < 0 && errno != EINTR)
      break;
    int overflow = 0;
    for (nfds_t i = 0; i < n; i++) {
      if (which[i] == 2 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      int rc = drain(fds[which[i]], which[i] == 0, o);
      if (rc < 0)
        close_fd(&fds[which[i]]);
      overflow |= rc > 0;
    }
    if (overflow) {
      outcome = RUN_OVERFLOW;
      break;
    }
  }
  /* The leader is a zombie or still running: its pid is still the group's. */
  kill(-pid, SIGKILL);
  if (outcome == RUN_EXITED)
    for (int i = 0; i < 2; i++)
      if (fds[i] >= 0 && drain(fds[i], i == 0, o) > 0)
        outcome = RUN_OVERFLOW;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  close_fd(&pidfd);
  if (outcome == RUN_EXITED && WIFEXITED(status))
    o->exit_code = WEXITSTATUS(status);
  else if (outcome == RUN_EXITED) {
    o->exit_code = WIFSIGNALED(status) ? WTERMSIG(status) : -1;
    outcome = RUN_SIGNALED;
  }
  return outcome;
}

static int verb_timeout(const exec_driver *x, const verb_def *v) {
  return x->timeout_ms > 0 ? x->timeout_ms : v->start_like ? START_TIMEOUT_MS : TIMEOUT_MS;
}

/* Appends one invocation to the case's transcript (best effort). */
static void transcript(const exec_driver *x, char *const *argv, const run_output *o,
                       const char *result) {
  if (!x->work_dir[0])
    return;
  char path[DIR_LEN + 32];
  snprintf(path, sizeof(path), "%s/exec-transcript.log", x->work_dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  dprintf(fd, "$ %s", x->shown);
  for (size_t i = 1; argv[i]; i++) {
    char arg[256];
    dprintf(fd, " '%s'", printable(argv[i], strlen(argv[i]), arg, sizeof(arg)));
  }
  size_t shown = o->out_len > TRANSCRIPT_OUT ? TRANSCRIPT_OUT : o->out_len;
  dprintf(fd, "\n-> %s in %.0f ms\n--- stdout (%zu bytes)\n%.*s%s\n--- stderr (tail)\n%s\n\n",
          result, o->ms, o->out_len, (int)shown, o->out ? o->out : "",
          shown < o->out_len ? "\n[...]" : "", o->err_len ? o->err : "(empty)");
  close(fd);
}

/* Runs the program once: 0 when it exited (any code, in o->exit_code), -1
 * when it could not be run, was killed by a signal, timed out or printed too
 * much (why says which, with the end of its stderr). */
static int invoke(exec_driver *x, const verb_def *v, const char *const *args, run_output *o,
                  char *why, size_t why_len) {
  memset(o, 0, sizeof(*o));
  int with_case = v != &v_hello;
  int timeout = verb_timeout(x, v);
  char *argv[MAX_ARGS + 3];
  size_t argc = 0;
  argv[argc++] = x->program;
  argv[argc++] = (char *)v->name;
  for (size_t i = 0; args && args[i] && argc < MAX_ARGS + 2; i++)
    argv[argc++] = (char *)args[i];
  argv[argc] = NULL;
  o->out = x->out;
  o->out[0] = '\0';
  child_env env;
  if (env_build(x, with_case, timeout, &env) != 0)
    return gu_fail(why, why_len, "out of memory");
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, report[2] = {-1, -1};
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(report, O_CLOEXEC) != 0) {
    int err = errno;
    close_fd(&null_fd);
    for (int i = 0; i < 2; i++) {
      close_fd(&out_pipe[i]);
      close_fd(&err_pipe[i]);
      close_fd(&report[i]);
    }
    env_free(&env);
    return gu_fail(why, why_len, "cannot make pipes: %s", strerror(err));
  }
  double t0 = gu_now_ms();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    int child_fds[4] = {null_fd, out_pipe[1], err_pipe[1], report[1]};
    child_run(argv, env.vars, parent, child_fds);
  }
  int fork_err = errno;
  if (pid > 0)
    setpgid(pid, pid); /* also here: no window where kill(-pid) misses it */
  close_fd(&null_fd);
  close_fd(&out_pipe[1]);
  close_fd(&err_pipe[1]);
  close_fd(&report[1]);
  env_free(&env);
  if (pid < 0) {
    close_fd(&out_pipe[0]);
    close_fd(&err_pipe[0]);
    close_fd(&report[0]);
    return gu_fail(why, why_len, "cannot fork: %s", strerror(fork_err));
  }
  /* EOF on the report pipe: execve succeeded; an errno: it did not. */
  int exec_err = 0;
  ssize_t got;
  do {
    got = read(report[0], &exec_err, sizeof(exec_err));
  } while (got < 0 && errno == EINTR);
  close_fd(&report[0]);
  int fds[2] = {out_pipe[0], err_pipe[0]};
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  int outcome = watch(pid, fds, timeout, o);
  close_fd(&fds[0]);
  close_fd(&fds[1]);
  o->ms = gu_now_ms() - t0;
  char tail[ERR_SHOWN * 3 + 8], result[64];
  stderr_tail(o, tail, sizeof(tail));
  const char *sep = tail[0] ? ": " : "";
  int rc = -1;
  if (got == (ssize_t)sizeof(exec_err)) {
    snprintf(result, sizeof(result), "not executed");
    gu_fail(why, why_len, "exec driver: cannot execute %s: %s", x->program, strerror(exec_err));
  } else if (outcome == RUN_TIMEOUT) {
    snprintf(result, sizeof(result), "timed out");
    gu_fail(why, why_len, "exec driver: %s %s did not finish within %d ms (killed)%s%s", x->shown,
            v->name, timeout, sep, tail);
  } else if (outcome == RUN_OVERFLOW) {
    snprintf(result, sizeof(result), "printed too much");
    gu_fail(why, why_len, "exec driver: %s %s printed more than %zu bytes on stdout (killed)",
            x->shown, v->name, OUT_MAX);
  } else if (outcome == RUN_SIGNALED) {
    snprintf(result, sizeof(result), "killed by signal %d", o->exit_code);
    gu_fail(why, why_len, "exec driver: %s %s was killed by signal %d%s%s", x->shown, v->name,
            o->exit_code, sep, tail);
  } else {
    snprintf(result, sizeof(result), "exit %d", o->exit_code);
    rc = 0;
  }
  transcript(x, argv, o, result);
  return rc;
}

/* ---- answers ---------------------------------------------------------------------------- */

static int valid_key(const char *k) {
  if (!(*k >= 'a' && *k <= 'z'))
    return 0;
  for (; *k; k++)
    if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
      return 0;
  return 1;
}

static int valid_value(const char *v) {
  for (; *v; v++)
    if ((unsigned char)*v < 0x20 || (unsigned char)*v == 0x7f)
      return 0;
  return 1;
}

/* Keys a version-1 program may not print (hello runs before the version is
 * known: its protocol= line decides there). */
static int version_2_key(const char *key) {
  return strcmp(key, "clock_ms") == 0 || strcmp(key, "reject") == 0;
}

static const char *get(const reply *r, const char *key) {
  for (size_t i = 0; i < r->count; i++)
    if (strcmp(r->items[i].key, key) == 0)
      return r->items[i].value;
  return NULL;
}

/* Splits stdout into key=value lines and a body, strictly. */
static int parse(exec_driver *x, const verb_def *v, reply *r, char *why, size_t why_len) {
  char *p = r->run.out, *end = r->run.out + r->run.out_len;
  char shown[80];
  for (int line = 1; p < end; line++) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (!nl)
      return gu_fail(why, why_len,
                     "exec driver: %s %s: line %d does not end with a newline: \"%s\"", x->shown,
                     v->name, line, printable(p, n, shown, sizeof(shown)));
    if (n == 0) { /* the blank line: the body follows */
      r->body = nl + 1;
      r->body_len = (size_t)(end - r->body);
      if (!v->body && r->body_len > 0)
        return gu_fail(why, why_len, "exec driver: %s %s: printed a body; %s has none", x->shown,
                       v->name, v->name);
      break;
    }
    if (n > HEADER_LINE_MAX || memchr(p, '\0', n))
      return gu_fail(why, why_len,
                     "exec driver: %s %s: line %d is longer than %d bytes or holds NUL", x->shown,
                     v->name, line, HEADER_LINE_MAX);
    *nl = '\0';
    char *eq = strchr(p, '=');
    if (!eq)
      return gu_fail(why, why_len, "exec driver: %s %s: line %d is not key=value: \"%s\"", x->shown,
                     v->name, line, printable(p, n, shown, sizeof(shown)));
    *eq = '\0';
    if (!valid_key(p) || !in_list(v->keys, p) || (x->protocol == 1 && version_2_key(p)))
      return gu_fail(why, why_len,
                     "exec driver: %s %s: line %d: unknown key \"%s\" (%s prints: %s)", x->shown,
                     v->name, line, printable(p, strlen(p), shown, sizeof(shown)), v->name,
                     v->keys[0] ? v->keys : "nothing");
    if (!valid_value(eq + 1))
      return gu_fail(why, why_len, "exec driver: %s %s: line %d: %s holds a control character",
                     x->shown, v->name, line, p);
    if (get(r, p) && !in_list(v->repeatable, p))
      return gu_fail(why, why_len, "exec driver: %s %s: line %d: %s given twice", x->shown, v->name,
                     line, p);
    if (r->count == MAX_ITEMS)
      return gu_fail(why, why_len, "exec driver: %s %s: more than %d lines", x->shown, v->name,
                     MAX_ITEMS);
    r->items[r->count++] = (item){p, eq + 1};
    p = nl + 1;
  }
  for (const char *k = v->required; *k;) {
    char key[64];
    size_t len = strcspn(k, " ");
    snprintf(key, sizeof(key), "%.*s", (int)len, k);
    if (!get(r, key))
      return gu_fail(why, why_len, "exec driver: %s %s: no %s= line", x->shown, v->name, key);
    k += len;
    k += *k == ' ';
  }
  if (r->body_len > 0 && get(r, "body_file"))
    return gu_fail(why, why_len, "exec driver: %s %s: both body_file= and a body", x->shown,
                   v->name);
  return 0;
}

/* Runs a verb and parses its answer: 0 when it exited 0 with a well-formed
 * answer; GH_DRIVER_UNSUPPORTED when it exited 89; -1 otherwise. *r points
 * into x->out: valid until the next run. */
static int call(exec_driver *x, const verb_def *v, const char *const *args, reply *r, char *why,
                size_t why_len) {
  memset(r, 0, sizeof(*r));
  if (invoke(x, v, args, &r->run, why, why_len) != 0)
    return -1;
  char tail[ERR_SHOWN * 3 + 8];
  stderr_tail(&r->run, tail, sizeof(tail));
  const char *sep = tail[0] ? ": " : "";
  if (r->run.exit_code == EXIT_UNSUPPORTED) {
    gu_fail(why, why_len, "the exec driver does not support %s%s%s", v->name, sep, tail);
    return GH_DRIVER_UNSUPPORTED;
  }
  if (r->run.exit_code != 0)
    return gu_fail(why, why_len, "exec driver: %s %s exited %d%s%s", x->shown, v->name,
                   r->run.exit_code, sep, tail[0] ? tail : " (nothing on stderr)");
  return parse(x, v, r, why, why_len);
}

/* A verb that prints nothing, for which 89 is allowed (the case is skipped). */
static int call_plain(exec_driver *x, const verb_def *v, const char *const *args, char *why,
                      size_t why_len) {
  reply r;
  return call(x, v, args, &r, why, why_len);
}

/* The body: body_file= (relative to the program's directory) or inline;
 * max > 0 keeps only its last max bytes. */
static int take_body(exec_driver *x, const verb_def *v, const reply *r, size_t max, char **out,
                     char *why, size_t why_len) {
  const char *file = get(r, "body_file");
  if (file) {
    char path[2 * DIR_LEN];
    if (file[0] == '/')
      snprintf(path, sizeof(path), "%s", file);
    else
      snprintf(path, sizeof(path), "%s/%s", x->exec_dir, file);
    size_t len = 0;
    if (!file[0] || read_file_tail(path, max, out, &len) != 0)
      return gu_fail(why, why_len, "exec driver: %s %s: cannot read body_file %s: %s", x->shown,
                     v->name, path,
                     errno == EFBIG ? "not a regular file or over 16 MiB" : strerror(errno));
    return 0;
  }
  size_t len = r->body_len, from = max > 0 && len > max ? len - max : 0;
  *out = malloc(len - from + 1);
  if (!*out)
    return gu_fail(why, why_len, "out of memory");
  if (len > from)
    memcpy(*out, r->body + from, len - from);
  (*out)[len - from] = '\0';
  return 0;
}

/* An admin verb: status= and the gateway's answer body. */
static int call_admin(exec_driver *x, const verb_def *v, const char *const *args,
                      gh_admin_result *res, char *why, size_t why_len) {
  memset(res, 0, sizeof(*res));
  if (!x->started)
    return gu_fail(why, why_len, "exec driver: %s before start", v->name);
  reply r;
  int rc = call(x, v, args, &r, why, why_len);
  long long status = 0;
  if (rc == 0 && parse_int(get(&r, "status"), 100, 599, &status) != 0)
    rc = gu_fail(why, why_len, "exec driver: %s %s: status=%s is not an HTTP status", x->shown,
                 v->name, get(&r, "status"));
  if (rc == 0 && take_body(x, v, &r, 0, &res->body, why, why_len) != 0)
    rc = -1;
  if (rc == 0)
    res->status = (long)status;
  return rc;
}

/* ---- configuration ----------------------------------------------------------------------- */

/* An absolute path for path (which exists), in out. */
static int absolute(const char *path, char *out, size_t out_len, char *why, size_t why_len) {
  char *real = realpath(path, NULL);
  if (!real)
    return gu_fail(why, why_len, "exec driver: %s: %s", path, strerror(errno));
  int fits = (size_t)snprintf(out, out_len, "%s", real) < out_len;
  free(real);
  return fits ? 0 : gu_fail(why, why_len, "exec driver: path too long: %s", path);
}

/* The gateway's settings in gatecert-sim's --config schema (EXEC.md). */
static int write_config(const gh_gateway_config *c, const char *path, char *why, size_t why_len) {
  if (gh_simconfig_write(c, path, why, why_len) == 0)
    return 0;
  return gu_fail(why, why_len, "exec driver: cannot write %s", path);
}

/* clock_ms= (version 2): the gateway's clock as the program read it. */
static int take_clock(exec_driver *x, const verb_def *v, const reply *r, char *why,
                      size_t why_len) {
  long long ms = -1;
  const char *clock = get(r, "clock_ms");
  x->clock_ms = -1;
  if (clock && parse_int(clock, 0, INT64_MAX / 2, &ms) != 0)
    return gu_fail(why, why_len, "exec driver: %s %s: clock_ms=%s is not ms since the epoch",
                   x->shown, v->name, clock);
  x->clock_ms = ms;
  return 0;
}

/* start and restart print https_port=, maybe start_ms= and clock_ms=. */
static int take_start(exec_driver *x, const verb_def *v, const reply *r, char *why,
                      size_t why_len) {
  if (take_clock(x, v, r, why, why_len) != 0)
    return -1;
  long long port = 0, ms = -1;
  if (parse_int(get(r, "https_port"), 1, 65535, &port) != 0)
    return gu_fail(why, why_len, "exec driver: %s %s: https_port=%s is not a port", x->shown,
                   v->name, get(r, "https_port"));
  const char *start = get(r, "start_ms");
  if (start && parse_int(start, 0, INT64_MAX / 2, &ms) != 0)
    return gu_fail(why, why_len, "exec driver: %s %s: start_ms=%s is not ms since the epoch",
                   x->shown, v->name, start);
  x->https_port = (int)port;
  x->start_ms = ms;
  return 0;
}

/* "name[p=v,q=w]" -> {"p": "v", "q": "w"} (a matrix row's parameters; values
 * hold no ',' or ']' in the catalogue, and a pair without '=' is skipped). */
static json_t *row_params(const char *name) {
  json_t *params = json_object();
  const char *open = name ? strrchr(name, '[') : NULL;
  size_t len = open ? strlen(open) : 0;
  if (!params || !open || len < 2 || open[len - 1] != ']')
    return params;
  char *row = strndup(open + 1, len - 2);
  char *save = NULL;
  for (char *pair = row ? strtok_r(row, ",", &save) : NULL; pair;
       pair = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(pair, '=');
    if (!eq)
      continue;
    *eq = '\0';
    json_object_set_new(params, pair, json_string(eq + 1));
  }
  free(row);
  return params;
}

/* Version 2's second start file: what gatecert-sim's schema cannot say (EXEC.md). */
static int write_settings(exec_driver *x, const gh_gateway_config *c, const char *path, char *why,
                          size_t why_len) {
  json_t *root = json_object();
  json_t *lbs = json_array();
  json_object_set_new(root, "case",
                      json_pack("{s:s, s:o}", "name", c->case_name ? c->case_name : "", "params",
                                row_params(c->case_name)));
  if (c->upstream_session_reuse >= 0)
    json_object_set_new(root, "upstream_session_reuse",
                        json_boolean(c->upstream_session_reuse == 1));
  if (c->upstream_keepalive >= 0)
    json_object_set_new(root, "upstream_keepalive", json_boolean(c->upstream_keepalive == 1));
  for (size_t i = 0; i < GH_MAX_LB && c->trusted_lb_pem[i]; i++)
    json_array_append_new(lbs, json_string(c->trusted_lb_pem[i]));
  json_object_set_new(root, "trusted_load_balancer_certs", lbs);
  if (c->front_lb_key_pem) {
    json_object_set_new(root, "front_lb",
                        json_pack("{s:s, s:s}", "key_store", c->front_lb_key_pem,
                                  "certificate_header", x->lb_header));
    json_object_set_new(root, "server_identity",
                        json_pack("{s:s, s:s}", "cert", x->server_cert, "key", x->server_key));
  }
  int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(root);
  return rc == 0 ? 0 : gu_fail(why, why_len, "exec driver: cannot write %s", path);
}

/* The identity the gateway presents to the load balancer in front: made here,
 * self-signed for localhost (front_lb.h), handed to the program. */
static int make_server_identity(exec_driver *x, char *why, size_t why_len) {
  gcert_buf cert = {0}, key = {0};
  gcert_error err = {0};
  snprintf(x->server_cert, sizeof(x->server_cert), "%s/exec-server.crt", x->work_dir);
  snprintf(x->server_key, sizeof(x->server_key), "%s/exec-server.key", x->work_dir);
  int rc = gh_self_signed_identity(GCERT_KIND_SERVER, "CN=localhost,O=gatecert-exec", &cert, &key,
                                   why, why_len);
  if (rc == 0 && gcert_file_save(x->server_cert, cert.data, cert.len, 0, &err) != GCERT_OK)
    rc = gu_fail(why, why_len, "writing %s: %s", x->server_cert, err.message);
  if (rc == 0 && gcert_file_save(x->server_key, key.data, key.len, 1, &err) != GCERT_OK)
    rc = gu_fail(why, why_len, "writing %s: %s", x->server_key, err.message);
  gcert_buf_free(&cert);
  gcert_buf_cleanse_free(&key);
  return rc;
}

static int stop_lb(exec_driver *x, char *why, size_t why_len) {
  int rc = gh_front_lb_stop(x->lb, why, why_len);
  x->lb = NULL;
  return rc;
}

/* The load balancer in front of the program's data plane (the port it just
 * printed), verifying the gateway against the identity handed to it. */
static int start_lb(exec_driver *x, const char *clock_file, const char *faketime_lib, char *why,
                    size_t why_len) {
  char lb_dir[DIR_LEN + 16];
  snprintf(lb_dir, sizeof(lb_dir), "%s/nginx-lb", x->work_dir);
  gh_front_lb_spec spec = {.nginx = x->nginx,
                           .dir = lb_dir,
                           .clock_file = clock_file,
                           .faketime_lib = faketime_lib,
                           .user_line = x->user_line,
                           .server_cert = x->server_cert,
                           .server_key = x->server_key,
                           .client_trust_pem = x->lb_client_trust,
                           .gateway_port = x->https_port,
                           .gateway_trust_pem = x->server_cert,
                           .identity_pem = x->lb_identity,
                           .header = x->lb_header};
  x->lb = gh_front_lb_start(&spec, why, why_len);
  return x->lb ? 0 : -1;
}

/* ---- operations --------------------------------------------------------------------------- */

static int exec_start(gh_driver *d, const gh_gateway_config *cfg, char *why, size_t why_len) {
  exec_driver *x = d->impl;
  char ignored[256];
  stop_lb(x, ignored, sizeof(ignored)); /* none unless a stop was missed */
  x->https_port = 0;
  x->start_ms = -1;
  x->clock_ms = -1;
  x->trust_store[0] = '\0';
  x->lb_identity = NULL;
  char config[DIR_LEN + 32], settings[DIR_LEN + 32];
  if (absolute(cfg->work_dir, x->work_dir, sizeof(x->work_dir), why, why_len) != 0 ||
      absolute(cfg->clock_file, x->clock_file, sizeof(x->clock_file), why, why_len) != 0 ||
      (cfg->base_trust_pem &&
       absolute(cfg->base_trust_pem, x->trust_store, sizeof(x->trust_store), why, why_len) != 0))
    return -1;
  snprintf(x->faketime_lib, sizeof(x->faketime_lib), "%s", cfg->faketime_lib);
  if ((size_t)snprintf(x->exec_dir, sizeof(x->exec_dir), "%s/exec", x->work_dir) >=
      sizeof(x->exec_dir))
    return gu_fail(why, why_len, "exec driver: work directory path too long");
  if (mkdir(x->exec_dir, 0700) != 0 && errno != EEXIST)
    return gu_fail(why, why_len, "exec driver: cannot create %s: %s", x->exec_dir, strerror(errno));
  snprintf(config, sizeof(config), "%s/exec-config.json", x->work_dir);
  snprintf(settings, sizeof(settings), "%s/exec-settings.json", x->work_dir);
  if (cfg->front_lb_key_pem && x->protocol >= 2) { /* the balancer is an nginx */
    if (gh_nginx_find(NULL, x->nginx, sizeof(x->nginx)) != 0)
      return gu_fail(why, why_len,
                     "the load balancer in front is an nginx, and there is none (PATH, "
                     "/usr/sbin/nginx)"),
             GH_DRIVER_UNSUPPORTED;
    gh_nginx_user_line(x->user_line, sizeof(x->user_line));
    x->lb_identity = cfg->front_lb_key_pem;
    x->lb_client_trust = x->trust_store[0] ? x->trust_store : NULL;
    x->lb_header = cfg->certificate_header ? cfg->certificate_header : GH_CERT_HEADER_DEFAULT;
    if (make_server_identity(x, why, why_len) != 0)
      return -1;
  }
  if (write_config(cfg, config, why, why_len) != 0 ||
      (x->protocol >= 2 && write_settings(x, cfg, settings, why, why_len) != 0))
    return -1;
  x->started = 1;
  const char *args[] = {config, x->protocol >= 2 ? settings : NULL, NULL};
  reply r;
  int rc = call(x, &v_start, args, &r, why, why_len);
  if (rc == 0)
    rc = take_start(x, &v_start, &r, why, why_len);
  if (rc == 0 && x->lb_identity)
    rc = start_lb(x, cfg->clock_file, cfg->faketime_lib, why, why_len);
  return rc;
}

static int exec_stop(gh_driver *d, char *why, size_t why_len) {
  exec_driver *x = d->impl;
  char lb_why[256] = "";
  int lb = stop_lb(x, lb_why, sizeof(lb_why));
  if (!x->started)
    return lb == 0 ? 0 : gu_fail(why, why_len, "the load balancer in front: %s", lb_why);
  x->started = 0;
  int rc = call_plain(x, &v_stop, NULL, why, why_len);
  if (rc == 0 && lb != 0)
    rc = gu_fail(why, why_len, "the load balancer in front: %s", lb_why);
  if (rc == GH_DRIVER_UNSUPPORTED)
    return gu_fail(why, why_len, "exec driver: %s answered 89 to stop, which every program must do",
                   x->shown);
  return rc;
}

static int exec_restart(gh_driver *d, char *why, size_t why_len) {
  exec_driver *x = d->impl;
  if (!x->started)
    return gu_fail(why, why_len, "exec driver: restart before start");
  reply r;
  int rc = call(x, &v_restart, NULL, &r, why, why_len);
  if (rc == 0)
    rc = take_start(x, &v_restart, &r, why, why_len);
  if (rc == 0 && x->lb) { /* the data plane's port may have changed */
    char clock[DIR_LEN], lib[DIR_LEN];
    snprintf(clock, sizeof(clock), "%s", x->clock_file);
    snprintf(lib, sizeof(lib), "%s", x->faketime_lib);
    rc = stop_lb(x, why, why_len);
    if (rc == 0)
      rc = start_lb(x, clock, lib, why, why_len);
  }
  return rc;
}

static int exec_https_port(gh_driver *d) { return ((exec_driver *)d->impl)->https_port; }
static int64_t exec_start_ms(gh_driver *d) { return ((exec_driver *)d->impl)->start_ms; }
static int exec_front_port(gh_driver *d) { return gh_front_lb_port(((exec_driver *)d->impl)->lb); }

static int exec_clock_sync(gh_driver *d, int64_t fake_ms, char *why, size_t why_len) {
  exec_driver *x = d->impl;
  char ms[24];
  snprintf(ms, sizeof(ms), "%lld", (long long)fake_ms);
  const char *args[] = {ms, NULL};
  reply r;
  int rc = call(x, &v_clock, args, &r, why, why_len);
  return rc == 0 ? take_clock(x, &v_clock, &r, why, why_len) : rc;
}

/* The clock_ms= of the last start, restart or clock-sync; 1 without one
 * (the runner reads the Date header of a data-plane answer instead). */
// NOLINTNEXTLINE(readability-non-const-parameter): gh_driver_ops.clock_read's signature
static int exec_clock_read(gh_driver *d, int64_t *ms, char *why, size_t why_len) {
  (void)why;
  (void)why_len;
  exec_driver *x = d->impl;
  *ms = x->clock_ms;
  return x->clock_ms >= 0 ? 0 : 1;
}

static int exec_create_api(gh_driver *d, const gh_api_desc *api, gh_admin_result *r, char *why,
                           size_t why_len) {
  const char *args[MAX_ARGS + 1];
  char security[32][160];
  size_t n = 0;
  args[n++] = api->name;
  args[n++] = api->context;
  args[n++] = api->version;
  args[n++] = api->url;
  if (api->default_version)
    args[n++] = "--default-version";
  if (api->security_count > 32)
    return gu_fail(why, why_len, "exec driver: more than 32 security schemes");
  for (size_t i = 0; i < api->security_count; i++) {
    snprintf(security[i], sizeof(security[i]), "--security=%s", api->security[i]);
    args[n++] = security[i];
  }
  /* version 2: the API's own backend trust and identity (per-api-backend-tls) */
  char trust[DIR_LEN + 32], key[DIR_LEN + 32];
  exec_driver *x = d->impl;
  if (x->protocol >= 2 && api->backend_trust_pem) {
    snprintf(trust, sizeof(trust), "--backend-trust=%s", api->backend_trust_pem);
    args[n++] = trust;
  }
  if (x->protocol >= 2 && api->backend_key_pem) {
    snprintf(key, sizeof(key), "--backend-key=%s", api->backend_key_pem);
    args[n++] = key;
  }
  args[n] = NULL;
  return call_admin(d->impl, &v_create_api, args, r, why, why_len);
}

static int exec_delete_api(gh_driver *d, const char *name, gh_admin_result *r, char *why,
                           size_t why_len) {
  const char *args[] = {name, NULL};
  return call_admin(d->impl, &v_delete_api, args, r, why, why_len);
}

static int exec_redeploy_api(gh_driver *d, const char *name, gh_admin_result *r, char *why,
                             size_t why_len) {
  const char *args[] = {name, NULL};
  return call_admin(d->impl, &v_redeploy_api, args, r, why, why_len);
}

/* The certificate bytes, in a 0600 file beside the program's directory. */
static int cert_file(exec_driver *x, const void *data, size_t len, char *path, size_t path_len,
                     char *why, size_t why_len) {
  if (!x->started)
    return gu_fail(why, why_len, "exec driver: certificate operation before start");
  snprintf(path, path_len, "%s/exec-cert-%u.bin", x->work_dir, ++x->seq);
  if (write_file(path, len ? data : "", len) != 0)
    return gu_fail(why, why_len, "exec driver: cannot write %s: %s", path, strerror(errno));
  return 0;
}

static int exec_upload_cert(gh_driver *d, const char *alias, const char *endpoint, const void *data,
                            size_t len, gh_admin_result *r, char *why, size_t why_len) {
  exec_driver *x = d->impl;
  char path[DIR_LEN + 32];
  memset(r, 0, sizeof(*r));
  if (cert_file(x, data, len, path, sizeof(path), why, why_len) != 0)
    return -1;
  const char *args[] = {alias, endpoint, path, NULL};
  return call_admin(x, &v_upload, args, r, why, why_len);
}

static int exec_replace_cert(gh_driver *d, const char *alias, const void *data, size_t len,
                             gh_admin_result *r, char *why, size_t why_len) {
  exec_driver *x = d->impl;
  char path[DIR_LEN + 32];
  memset(r, 0, sizeof(*r));
  if (cert_file(x, data, len, path, sizeof(path), why, why_len) != 0)
    return -1;
  const char *args[] = {alias, path, NULL};
  return call_admin(x, &v_replace, args, r, why, why_len);
}

static int exec_delete_cert(gh_driver *d, const char *alias, gh_admin_result *r, char *why,
                            size_t why_len) {
  const char *args[] = {alias, NULL};
  return call_admin(d->impl, &v_delete_cert, args, r, why, why_len);
}

static int exec_add_key_manager(gh_driver *d, const gh_key_manager_desc *km, gh_admin_result *r,
                                char *why, size_t why_len) {
  exec_driver *x = d->impl;
  char path[DIR_LEN + 32];
  memset(r, 0, sizeof(*r));
  if (cert_file(x, km->public_pem, strlen(km->public_pem), path, sizeof(path), why, why_len) != 0)
    return -1;
  const char *args[] = {km->name, km->issuer, km->alg, path, NULL};
  return call_admin(x, &v_add_km, args, r, why, why_len);
}

static int exec_upload_client_cert(gh_driver *d, const char *api, const char *alias,
                                   const char *tier, const void *data, size_t len,
                                   gh_admin_result *r, char *why, size_t why_len) {
  exec_driver *x = d->impl;
  char path[DIR_LEN + 32];
  memset(r, 0, sizeof(*r));
  if (cert_file(x, data, len, path, sizeof(path), why, why_len) != 0)
    return -1;
  const char *args[] = {api, alias, tier, path, NULL};
  return call_admin(x, &v_upload_client, args, r, why, why_len);
}

static int exec_delete_client_cert(gh_driver *d, const char *api, const char *alias,
                                   gh_admin_result *r, char *why, size_t why_len) {
  const char *args[] = {api, alias, NULL};
  return call_admin(d->impl, &v_delete_client, args, r, why, why_len);
}

static int exec_subscribe(gh_driver *d, const char *application, const char *api, const char *tier,
                          const char *key_manager, gh_admin_result *r, char *why, size_t why_len) {
  const char *args[] = {application, api, tier, key_manager, NULL};
  return call_admin(d->impl, &v_subscribe, args, r, why, why_len);
}

/* sap-store-cert STORE NAME FILE [--key-store] [--password-file=F],
 * sap-reference NAME STORE, sap-provider NAME ENDPOINT TRUST-STORE (EXEC.md). */
static int exec_sap_object(gh_driver *d, const gh_sap_object *o, gh_admin_result *r, char *why,
                           size_t why_len) {
  exec_driver *x = d->impl;
  char path[DIR_LEN + 32];
  memset(r, 0, sizeof(*r));
  if (o->kind == GH_SAP_REFERENCE) {
    const char *args[] = {o->name, o->store, NULL};
    return call_admin(x, &v_sap_reference, args, r, why, why_len);
  }
  if (o->kind == GH_SAP_PROVIDER) {
    const char *args[] = {o->name, o->endpoint, o->trust_store, NULL};
    return call_admin(x, &v_sap_provider, args, r, why, why_len);
  }
  char pw_path[DIR_LEN + 32], pw_arg[DIR_LEN + 64];
  if (cert_file(x, o->data, o->len, path, sizeof(path), why, why_len) != 0 ||
      (o->password &&
       cert_file(x, o->password, strlen(o->password), pw_path, sizeof(pw_path), why, why_len) != 0))
    return -1;
  const char *args[6] = {o->store, o->name, path, NULL, NULL, NULL}; /* NULL-terminated */
  size_t n = 3;
  if (o->key_store)
    args[n++] = "--key-store";
  if (o->password) {
    snprintf(pw_arg, sizeof(pw_arg), "--password-file=%s", pw_path);
    args[n] = pw_arg;
  }
  return call_admin(x, &v_sap_store_cert, args, r, why, why_len);
}

static int exec_reload(gh_driver *d, char *why, size_t why_len) {
  return call_plain(d->impl, &v_reload, NULL, why, why_len);
}

static char *exec_log_tail(gh_driver *d, size_t max) {
  exec_driver *x = d->impl;
  if (!x->started || max == 0)
    return NULL;
  char bytes[24], why[512];
  snprintf(bytes, sizeof(bytes), "%zu", max);
  const char *args[] = {bytes, NULL};
  reply r;
  char *tail = NULL;
  if (call(x, &v_log_tail, args, &r, why, sizeof(why)) == 0 &&
      take_body(x, &v_log_tail, &r, max, &tail, why, sizeof(why)) != 0)
    tail = NULL;
  return tail;
}

static const char *const *exec_secrets(gh_driver *d) {
  return (const char *const *)((exec_driver *)d->impl)->secrets;
}

static void exec_free(exec_driver *x) {
  if (!x)
    return;
  for (size_t i = 0; x->secrets[i]; i++)
    free(x->secrets[i]);
  free(x->program);
  free(x->out);
  free(x->label);
  free(x);
}

static void exec_free_impl(void *impl) { exec_free(impl); }

static void exec_destroy(gh_driver *d) { gh_driver_destroy_with(d, exec_free_impl); }

static const gh_driver_ops exec_template = {
    .start = exec_start,
    .stop = exec_stop,
    .restart = exec_restart,
    .https_port = exec_https_port,
    .start_ms = exec_start_ms,
    .clock_sync = exec_clock_sync,
    .clock_read = exec_clock_read,
    .create_api = exec_create_api,
    .delete_api = exec_delete_api,
    .redeploy_api = exec_redeploy_api,
    .upload_cert = exec_upload_cert,
    .replace_cert = exec_replace_cert,
    .delete_cert = exec_delete_cert,
    .reload = exec_reload,
    .add_key_manager = exec_add_key_manager,
    .upload_client_cert = exec_upload_client_cert,
    .delete_client_cert = exec_delete_client_cert,
    .subscribe = exec_subscribe,
    .sap_object = exec_sap_object,
    .log_tail = exec_log_tail,
    .secrets = exec_secrets,
    .destroy = exec_destroy,
};

/* ---- construction: finding the program, hello ---------------------------------------------- */

/* program with a '/': that file; without: the first executable in $PATH
 * (gu_find_program); its absolute path (malloc'd), or NULL with why. */
static char *find_program(const char *program, char *why, size_t why_len) {
  if (!*program) {
    gu_fail(why, why_len, "exec driver: no program (--driver exec:PROGRAM)");
    return NULL;
  }
  char found[DIR_LEN], reason[DIR_LEN + 64];
  if (gu_find_program(program, found, sizeof(found), reason, sizeof(reason)) != 0) {
    gu_fail(why, why_len, "exec driver: %s", reason);
    return NULL;
  }
  char *real = realpath(found, NULL);
  if (!real)
    gu_fail(why, why_len, "exec driver: %s: %s", found, strerror(errno));
  return real;
}

/* name and version: printable ASCII without spaces, 1..64 bytes. */
static int valid_word(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return 0;
  for (; *s; s++)
    if (*s <= ' ' || *s > '~')
      return 0;
  return 1;
}

/* protocol=gatecert-exec/N: 1 or 2, else 0. */
static int protocol_version(const char *protocol) {
  if (strncmp(protocol, PROTOCOL_PREFIX, strlen(PROTOCOL_PREFIX)) != 0)
    return 0;
  const char *n = protocol + strlen(PROTOCOL_PREFIX);
  return strcmp(n, "1") == 0 ? 1 : strcmp(n, "2") == 0 ? 2 : 0;
}

/* capabilities=a,b,c. Version 1: names this harness does not know are
 * ignored (a newer program, an older harness), fake-clock is implied (every
 * version-1 program ran its gateway under libfaketime), and per-api-backend-tls
 * and lb-in-front are dropped (version 1 cannot carry the API's trust nor the
 * balancer). Version 2: an unknown name is an error. */
static int take_caps(exec_driver *x, const char *caps, char *why, size_t why_len) {
  while (*caps) {
    char cap[64];
    size_t len = strcspn(caps, ",");
    unsigned bit = 0;
    snprintf(cap, sizeof(cap), "%.*s", (int)(len < sizeof(cap) ? len : sizeof(cap) - 1), caps);
    if (gh_cap_parse(cap, &bit) == 0)
      x->ops.caps |= bit;
    else if (x->protocol >= 2)
      return gu_fail(why, why_len,
                     "exec driver: %s hello: unknown capability \"%s\" (EXEC.md lists them)",
                     x->shown, cap);
    caps += len;
    caps += *caps == ',';
  }
  if (x->protocol == 1)
    x->ops.caps =
        (x->ops.caps | GH_CAP_FAKE_CLOCK) & ~(GH_CAP_PER_API_BACKEND_TLS | GH_CAP_LB_IN_FRONT);
  return 0;
}

/* reject=CLASS ANSWER [FAULT-CODE] (version 2): ANSWER is tls-alert or 1-4
 * statuses joined by '|' (alternatives), FAULT-CODE [A-Za-z0-9]{1,32}. */
static int take_reject(exec_driver *x, const char *line, char *why, size_t why_len) {
  char cls_name[32] = "", answer[64] = "", fault[40] = "", extra[2] = "";
  int n = sscanf(line, "%31s %63s %39s %1s", cls_name, answer, fault, extra);
  gh_reject cls = GH_REJECT_NONE;
  if (n < 2 || n > 3)
    return gu_fail(why, why_len, "exec driver: %s hello: reject=%s: want CLASS ANSWER [FAULT-CODE]",
                   x->shown, line);
  if (gh_reject_parse(cls_name, &cls) != 0)
    return gu_fail(why, why_len,
                   "exec driver: %s hello: reject=%s: unknown class \"%s\" (client-cert, "
                   "unauthenticated, backend-tls)",
                   x->shown, line, cls_name);
  gh_reject_answer a = {0};
  if (strcmp(answer, "tls-alert") == 0) {
    a.tls_alert = 1;
  } else {
    char *save = NULL;
    size_t k = 0;
    for (char *s = strtok_r(answer, "|", &save); s; s = strtok_r(NULL, "|", &save)) {
      long long status = 0;
      if (k == 4 || parse_int(s, 100, 599, &status) != 0)
        return gu_fail(why, why_len,
                       "exec driver: %s hello: reject=%s: the answer is tls-alert or 1-4 HTTP "
                       "statuses joined by |",
                       x->shown, line);
      a.status[k++] = (long)status;
    }
    if (k == 0)
      return gu_fail(why, why_len, "exec driver: %s hello: reject=%s: no status", x->shown, line);
  }
  if (n == 3) {
    if (a.tls_alert ||
        strspn(fault, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") !=
            strlen(fault))
      return gu_fail(why, why_len,
                     "exec driver: %s hello: reject=%s: a fault code goes with statuses only, "
                     "letters and digits",
                     x->shown, line);
  }
  if (n == 3) {
    snprintf(x->faults[cls], sizeof(x->faults[cls]), "%s", fault);
    a.fault_code = x->faults[cls];
  }
  x->rejects[cls] = a;
  return 0;
}

static int hello(exec_driver *x, gh_exec_info *info, char *why, size_t why_len) {
  reply r;
  int rc = call(x, &v_hello, NULL, &r, why, why_len);
  if (rc == GH_DRIVER_UNSUPPORTED)
    rc = gu_fail(why, why_len, "exec driver: %s answered 89 to hello, which every program must do",
                 x->shown);
  const char *protocol = rc == 0 ? get(&r, "protocol") : NULL;
  const char *name = rc == 0 ? get(&r, "name") : NULL;
  const char *version = rc == 0 ? get(&r, "version") : NULL;
  if (rc == 0 && (x->protocol = protocol_version(protocol)) == 0)
    rc = gu_fail(why, why_len,
                 "exec driver: %s speaks \"%s\"; this harness speaks gatecert-exec/1 and "
                 "gatecert-exec/2",
                 x->shown, protocol);
  if (rc == 0 && (!valid_word(name) || !valid_word(version)))
    rc = gu_fail(why, why_len,
                 "exec driver: %s hello: name= and version= must be 1-64 printable "
                 "characters without spaces",
                 x->shown);
  if (rc == 0)
    rc = take_caps(x, get(&r, "capabilities"), why, why_len);
  memcpy(x->rejects, gh_sim_rejects, sizeof(x->rejects)); /* classes not declared */
  for (size_t i = 0; rc == 0 && i < r.count; i++) {
    if (strcmp(r.items[i].key, "reject") != 0)
      continue;
    if (x->protocol == 1)
      rc = gu_fail(why, why_len, "exec driver: %s hello: reject= is gatecert-exec/2", x->shown);
    else
      rc = take_reject(x, r.items[i].value, why, why_len);
  }
  if (rc == 0 && x->protocol >= 2) {
    x->ops.rejects = x->rejects;
    if (x->ops.caps & GH_CAP_LB_IN_FRONT) {
      x->ops.front_port = exec_front_port;
      x->ops.front_rejects = gh_front_lb_rejects;
    }
  }
  size_t secrets = 0;
  for (size_t i = 0; rc == 0 && i < r.count; i++) {
    if (strcmp(r.items[i].key, "secret") != 0 || !r.items[i].value[0])
      continue;
    if (secrets == MAX_SECRETS)
      rc = gu_fail(why, why_len, "exec driver: %s hello: more than %d secrets", x->shown,
                   MAX_SECRETS);
    else if (!(x->secrets[secrets++] = strdup(r.items[i].value)))
      rc = gu_fail(why, why_len, "out of memory");
  }
  if (rc == 0) {
    snprintf(info->implementation, sizeof(info->implementation), "exec:%s", x->shown);
    snprintf(info->version, sizeof(info->version), "%s %s", name, version);
  }
  return rc;
}

gh_driver *gh_driver_exec_new(const char *program, const char *profile, gh_exec_info *info,
                              char *why, size_t why_len) {
  memset(info, 0, sizeof(*info));
  gh_driver *d = calloc(1, sizeof(*d));
  exec_driver *x = calloc(1, sizeof(*x));
  size_t label_len = strlen(program) + 6;
  char *label = malloc(label_len);
  if (!d || !x || !label) {
    free(d);
    free(x);
    free(label);
    gu_fail(why, why_len, "out of memory");
    return NULL;
  }
  snprintf(label, label_len, "exec:%s", program);
  x->label = label;
  x->ops = exec_template;
  x->ops.name = x->label;
  x->start_ms = -1;
  snprintf(x->profile, sizeof(x->profile), "%s", profile ? profile : "wso2");
  const char *timeout = getenv("GATECERT_EXEC_TIMEOUT_MS");
  long long ms = 0;
  if (timeout && parse_int(timeout, 1, TIMEOUT_MAX_MS, &ms) != 0) {
    gu_fail(why, why_len, "GATECERT_EXEC_TIMEOUT_MS=%s: want 1..%d ms", timeout, TIMEOUT_MAX_MS);
    exec_free(x);
    free(d);
    return NULL;
  }
  x->timeout_ms = (int)ms;
  x->out = malloc(OUT_MAX + 1);
  x->program = x->out ? find_program(program, why, why_len) : NULL;
  if (!x->out)
    gu_fail(why, why_len, "out of memory");
  x->shown = base_name(x->label + 5);
  d->ops = &x->ops;
  d->impl = x;
  if (!x->program || hello(x, info, why, why_len) != 0) {
    exec_free(x);
    free(d);
    return NULL;
  }
  return d;
}
