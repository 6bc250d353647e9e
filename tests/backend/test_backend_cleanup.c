/* test_backend_cleanup.c - no backend process or port outlives the test that
 * started it, however that test ends.
 *
 * Proves the guarantees every backend test relies on (backend_support.c):
 *   - bs_stop ends the process (exit 0 on SIGTERM and SIGINT, as README
 *     says), its port refuses connections and the marker scan finds nothing,
 *     while before the stop the same scan does find it (the check can fail);
 *   - a test whose assertion fails still stops its backend in teardown
 *     (a cmocka run inside a forked sub-process, failing on purpose);
 *   - a test process killed outright (no teardown at all) takes its backend
 *     along through PR_SET_PDEATHSIG;
 *   - killing a backend that ran under libfaketime removes the /dev/shm files
 *     libfaketime would otherwise leak.
 */
#include "support.h"
#include "backend_support.h"
#include "backend_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One TLS backend and one fault backend in one process. */
static bs_process *start_pair(const char *faketime_file) {
  static char spec[3 * BS_PATH_MAX];
  char cert[BS_PATH_MAX], key[BS_PATH_MAX];
  snprintf(spec, sizeof(spec), "tls:cert=%s,key=%s", bt_scratch(cert, "server.chain.pem"),
           bt_scratch(key, "server.key"));
  const char *args[] = {"--backend", spec, "--backend", "stall:fault=stall", NULL};
  bs_start_opts opts = {
      .args = args, .scratch_dir = test_scratch_dir(), .faketime_file = faketime_file};
  return bs_start(&opts);
}

/* Waits (bounded) until nothing carries the marker prefix; the count left. */
static int orphans_after(const char *prefix, int ms) {
  double deadline = gu_now_ms() + ms;
  int n;
  while ((n = bs_orphans(prefix)) != 0 && gu_now_ms() < deadline) {
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  return n;
}

static void test_stop_by_signal(void **state) {
  (void)state;
  static const int signals[] = {SIGTERM, SIGINT};
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
    bs_process *p = start_pair(NULL);
    bs_check(p != NULL);
    int ports[2] = {bs_port(p, "tls"), bs_port(p, "stall")};
    assert_int_equal(1, bs_orphans(NULL)); /* the scan sees a live backend */
    for (int k = 0; k < 2; k++)
      assert_int_equal(0, bs_port_refused(ports[k]));
    bs_check(bs_stop_signal(p, signals[i]) == 0); /* exit 0 on the signal */
    assert_int_equal(0, bs_orphans(NULL));
    for (int k = 0; k < 2; k++)
      bs_check(bs_port_refused(ports[k]) == 1);
  }
}

/* Runs inside the sub-process's own cmocka run: starts a backend, publishes
 * its ports, and fails. Only bs_teardown can stop the backend then. */
static int published_fd = -1;

static void failing_test(void **state) {
  (void)state;
  bs_process *p = start_pair(NULL);
  bs_check(p != NULL);
  int ports[2] = {bs_port(p, "tls"), bs_port(p, "stall")};
  assert_true(write(published_fd, ports, sizeof(ports)) == (ssize_t)sizeof(ports));
  assert_int_equal(1, 2); /* deliberately fails */
}

static void test_teardown_after_failed_assertion(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(0, pipe(fds));
  char log[BS_PATH_MAX];
  bt_scratch(log, "failing-run.log");
  fflush(NULL);
  pid_t sub = fork();
  assert_true(sub >= 0);
  if (sub == 0) {
    close(fds[0]);
    published_fd = fds[1];
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* keep the log readable */
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    const struct CMUnitTest inner[] = {cmocka_unit_test_teardown(failing_test, bs_teardown)};
    int failed = cmocka_run_group_tests_name("deliberately_failing", inner, NULL, NULL);
    int left = bs_orphans(NULL); /* still in the sub-process: PDEATHSIG not involved */
    _exit(failed == 1 && left == 0 ? 0 : 10 + failed * 2 + (left != 0));
  }
  close(fds[1]);
  int ports[2] = {0, 0};
  ssize_t got = read(fds[0], ports, sizeof(ports));
  close(fds[0]);
  int status = 0;
  assert_int_equal(sub, waitpid(sub, &status, 0));
  assert_int_equal((ssize_t)sizeof(ports), got);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("sub-process status 0x%x: the failed test was not cleaned up (log: %s)",
             (unsigned)status, log);
  for (int k = 0; k < 2; k++)
    bs_check(bs_port_refused(ports[k]) == 1);
}

/* The test process dies by SIGKILL with its backend running: no teardown,
 * no atexit; PR_SET_PDEATHSIG must end the backend. */
static void test_killed_test_process(void **state) {
  (void)state;
  /* the orphaned backend is reparented to us, not to a PID 1 that may never
   * reap it, so no zombie outlives the test */
  assert_int_equal(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
  int to_parent[2], to_child[2];
  assert_int_equal(0, pipe(to_parent));
  assert_int_equal(0, pipe(to_child));
  fflush(NULL);
  pid_t sub = fork();
  assert_true(sub >= 0);
  if (sub == 0) {
    close(to_parent[0]);
    close(to_child[1]);
    struct {
      int ports[2];
      char prefix[64];
      pid_t backend;
    } info = {{-1, -1}, "", 0};
    bs_process *p = start_pair(NULL);
    if (p != NULL) {
      info.ports[0] = bs_port(p, "tls");
      info.ports[1] = bs_port(p, "stall");
      info.backend = p->pid;
    }
    snprintf(info.prefix, sizeof(info.prefix), "%s", bs_marker_prefix());
    if (write(to_parent[1], &info, sizeof(info)) != (ssize_t)sizeof(info))
      _exit(3);
    char c;
    (void)read(to_child[0], &c, 1); /* wait to be killed */
    _exit(4);
  }
  close(to_parent[1]);
  close(to_child[0]);
  struct {
    int ports[2];
    char prefix[64];
    pid_t backend;
  } info;
  ssize_t got = read(to_parent[0], &info, sizeof(info));
  close(to_parent[0]);
  assert_int_equal((ssize_t)sizeof(info), got);
  assert_true(info.ports[0] > 0 && info.ports[1] > 0);
  assert_int_equal(1, bs_orphans(info.prefix)); /* alive while its test lives */
  kill(sub, SIGKILL);
  int status = 0;
  assert_int_equal(sub, waitpid(sub, &status, 0));
  close(to_child[1]);
  assert_true(WIFSIGNALED(status));
  if (orphans_after(info.prefix, 3000) != 0)
    fail_msg("backend outlived its killed test: %s", bs_error());
  /* an exiting process drops its memory (and so its environ) before its
   * sockets: give the close the same bounded time */
  for (int k = 0; k < 2; k++) {
    double deadline = gu_now_ms() + 3000;
    while (bs_port_refused(info.ports[k]) != 1 && gu_now_ms() < deadline) {
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
    bs_check(bs_port_refused(info.ports[k]) == 1);
  }
  /* reap the orphan (bounded): it must have ended */
  double deadline = gu_now_ms() + 3000;
  pid_t reaped = 0;
  while ((reaped = waitpid(info.backend, &status, WNOHANG)) == 0 && gu_now_ms() < deadline) {
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(info.backend, reaped);
}

/* libfaketime's files for pid: "faketime_shm_<pid>" or "sem.faketime_sem_<pid>". */
static int shm_exists(pid_t pid, const char *prefix) {
  char path[128];
  snprintf(path, sizeof(path), "/dev/shm/%s%ld", prefix, (long)pid);
  return access(path, F_OK) == 0;
}

static void test_faketime_kill_cleans_shm(void **state) {
  (void)state;
  char stamp[BS_PATH_MAX];
  bs_check(bs_faketime_set(bt_scratch(stamp, "kill.faketime"), "2030-01-01 00:00:00") == 0);
  bs_process *p = start_pair(stamp);
  bs_check(p != NULL);
  pid_t pid = p->pid;
  /* libfaketime made them at start: this test would prove nothing if not */
  assert_true(shm_exists(pid, "faketime_shm_"));
  assert_true(shm_exists(pid, "sem.faketime_sem_"));
  bs_check(bs_stop_signal(p, SIGKILL) == 0);
  assert_true(WIFSIGNALED(p->wait_status));
  assert_false(shm_exists(pid, "faketime_shm_"));
  assert_false(shm_exists(pid, "sem.faketime_sem_"));
  assert_int_equal(0, bs_orphans(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_stop_by_signal, bs_teardown),
      cmocka_unit_test_teardown(test_teardown_after_failed_assertion, bs_teardown),
      cmocka_unit_test_teardown(test_killed_test_process, bs_teardown),
      cmocka_unit_test_teardown(test_faketime_kill_cleans_shm, bs_teardown),
  };
  return bt_run_curl_tests(tests, bt_setup_catalogue, NULL);
}
