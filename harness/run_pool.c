/* run_pool.c - running the chosen cases and recording their outcomes.
 *
 * With -j 1 the cases run one after the other in this process. With -j N
 * each case runs in a forked worker (at most N at once, at most 64): the
 * child executes the case with the driver it inherited and writes its
 * case_outcome as one JSON object into a pipe, then exits; the parent polls
 * the pipes, collects each worker's text until EOF, reaps it, and records the
 * outcome (a worker that ended without a result is an error of that case).
 * Recording adds the case to the run (report.h) with the command that
 * reproduces it (reproduce_command: every word shell-quoted, the case named
 * exactly with --case) and prints its console line. SIGINT/SIGTERM stop starting
 * new cases; running ones finish their cleanup.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "gutil.h"
#include "run_internal.h"

/* A case's file as the reports name it: relative to the scenarios directory
 * it was loaded from (report.h), or as loaded when it is not below it. */
static const char *scenario_relative(const char *scenarios, const char *file) {
  size_t n = strlen(scenarios);
  while (n > 1 && scenarios[n - 1] == '/')
    n--;
  if (strncmp(file, scenarios, n) == 0 && file[n] == '/')
    return file + n + 1;
  return file;
}

/* The command that reruns case c alone, as one line for sh or bash (util's
 * gu_shell_command quotes every word): the case by its exact name (--case,
 * not a glob), and what decides its outcome besides - the scenarios, the
 * driver, its --gateway-bin, the profile, the simulator's extra arguments. */
static void reproduce_command(const options *opt, const gh_case_spec *c, const char *profile,
                              const char *driver_name, gu_text *out) {
  const char *argv[16 + 2 * MAX_GLOBS];
  size_t n = 0;
  argv[n++] = "gatecert";
  argv[n++] = "run";
  argv[n++] = "--scenarios";
  argv[n++] = opt->scenarios;
  argv[n++] = "--driver";
  argv[n++] = driver_name;
  if (opt->gateway_bin) {
    argv[n++] = "--gateway-bin";
    argv[n++] = opt->gateway_bin;
  }
  argv[n++] = "--profile";
  argv[n++] = profile;
  for (size_t i = 0; i < opt->sim_arg_count; i++) {
    argv[n++] = "--sim-arg";
    argv[n++] = opt->sim_args[i];
  }
  argv[n++] = "--case";
  argv[n++] = c->name;
  argv[n++] = "--keep";
  argv[n] = NULL;
  gu_shell_command(out, argv);
}

static void record_case(const options *opt, const gh_case_spec *c, const char *profile,
                        const char *driver_name, const case_outcome *o, gh_run *run, int color) {
  gu_text command = {0};
  reproduce_command(opt, c, profile, driver_name, &command);
  const char *reproduce = command.failed ? "(out of memory)" : command.data;
  int passed = o->outcome == GH_PASS;
  gh_case result = {.name = c->name,
                    .file = (char *)scenario_relative(opt->scenarios, c->file),
                    .features = c->features,
                    .feature_count = c->feature_count,
                    .profile = (char *)profile,
                    .outcome = o->outcome,
                    .not_applicable = o->not_applicable,
                    .message = passed ? NULL : (char *)o->message,
                    .detail = passed ? NULL : (char *)o->detail,
                    .log_tail = passed ? NULL : o->log_tail,
                    .reproduce = (char *)reproduce,
                    .seconds = o->seconds,
                    .fake_ms = o->fake_ms,
                    .applies = o->applies,
                    .apply_ms = o->apply_ms,
                    .events = o->events,
                    .event_count = o->event_count,
                    .start_ms = o->start_ms,
                    .nodes = o->nodes};
  gh_case *added = gh_run_add(run, &result);
  if (added)
    gh_console_case(stdout, color, added);
  fflush(stdout);
  gu_text_free(&command);
}

typedef struct worker {
  pid_t pid;
  int fd;
  size_t index;
  gu_text out; /* what the child sent so far */
} worker;

/* The child's half: execute, send the outcome as JSON, exit. */
static void worker_child(const options *opt, const gh_case_spec *c, const char *profile,
                         gh_driver *driver, int fd) {
  case_outcome o;
  memset(&o, 0, sizeof(o));
  gh_runner_execute_case(opt, c, profile, driver, &o);
  json_t *j =
      json_pack("{s:i, s:b, s:s, s:s, s:s?, s:f, s:I, s:I, s:f}", "outcome", (int)o.outcome,
                "not_applicable", o.not_applicable, "message", o.message, "detail", o.detail,
                "log_tail", o.log_tail, "seconds", o.seconds, "fake_ms", (json_int_t)o.fake_ms,
                "applies", (json_int_t)o.applies, "apply_ms", o.apply_ms);
  json_t *events = json_array();
  for (size_t i = 0; j && i < o.event_count; i++)
    json_array_append_new(
        events, json_pack("{s:I, s:i, s:b, s:s?, s:s, s:i, s:I}", "at_ms",
                          (json_int_t)o.events[i].at_ms, "kind", (int)o.events[i].kind, "ok",
                          o.events[i].ok, "clock", o.events[i].clock, "label", o.events[i].label,
                          "node", o.events[i].node, "status", (json_int_t)o.events[i].status));
  json_object_set_new(j, "events", events);
  json_object_set_new(j, "start_ms", json_integer((json_int_t)o.start_ms));
  json_object_set_new(j, "nodes", json_integer(o.nodes));
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  size_t len = text ? strlen(text) : 0, done = 0;
  while (done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n <= 0 && errno != EINTR)
      break;
    if (n > 0)
      done += (size_t)n;
  }
  _exit(done == len && len > 0 ? 0 : 3);
}

static void worker_result(const worker *w, case_outcome *o) {
  memset(o, 0, sizeof(*o));
  json_t *j = json_loadb(w->out.data ? w->out.data : "", w->out.len, 0, NULL);
  if (!j) {
    o->outcome = GH_ERROR;
    snprintf(o->message, sizeof(o->message), "the worker running this case ended without a result");
    return;
  }
  o->outcome = (gh_outcome)json_integer_value(json_object_get(j, "outcome"));
  o->not_applicable = json_is_true(json_object_get(j, "not_applicable"));
  snprintf(o->message, sizeof(o->message), "%s", json_string_value(json_object_get(j, "message")));
  snprintf(o->detail, sizeof(o->detail), "%s", json_string_value(json_object_get(j, "detail")));
  const char *tail = json_string_value(json_object_get(j, "log_tail"));
  o->log_tail = tail ? strdup(tail) : NULL;
  o->seconds = json_real_value(json_object_get(j, "seconds"));
  o->fake_ms = json_integer_value(json_object_get(j, "fake_ms"));
  o->applies = (long)json_integer_value(json_object_get(j, "applies"));
  o->apply_ms = json_real_value(json_object_get(j, "apply_ms"));
  o->start_ms = json_integer_value(json_object_get(j, "start_ms"));
  o->nodes = (int)json_integer_value(json_object_get(j, "nodes"));
  json_t *events = json_object_get(j, "events");
  size_t n = json_array_size(events);
  o->events = n ? calloc(n, sizeof(*o->events)) : NULL;
  for (size_t i = 0; o->events && i < n; i++) {
    json_t *e = json_array_get(events, i);
    const char *clock = json_string_value(json_object_get(e, "clock"));
    const char *label = json_string_value(json_object_get(e, "label"));
    o->events[i] = (gh_event){.at_ms = json_integer_value(json_object_get(e, "at_ms")),
                              .kind = (gh_event_kind)json_integer_value(json_object_get(e, "kind")),
                              .ok = json_is_true(json_object_get(e, "ok")),
                              .clock = clock ? strdup(clock) : NULL,
                              .label = strdup(label ? label : ""),
                              .node = (int)json_integer_value(json_object_get(e, "node")),
                              .status = (long)json_integer_value(json_object_get(e, "status"))};
    o->event_count = i + 1;
  }
  json_decref(j);
}

/* Reads from the worker until EOF; 1 when finished. */
static int worker_drain(worker *w) {
  char chunk[65536];
  ssize_t n = read(w->fd, chunk, sizeof(chunk));
  if (n < 0 && errno == EINTR)
    return 0;
  if (n <= 0)
    return 1;
  gu_text_add(&w->out, chunk, (size_t)n);
  return w->out.failed;
}

static void run_parallel(const options *opt, const gh_case_spec *const *cases, size_t count,
                         const char *profile, gh_driver *driver, gh_run *run, int color) {
  worker workers[64];
  size_t active = 0, next = 0;
  int jobs = opt->jobs < 64 ? opt->jobs : 64;
  while (next < count || active > 0) {
    while (next < count && active < (size_t)jobs && !gh_runner_interrupted) {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0)
        break;
      fflush(stdout);
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        worker_child(opt, cases[next], profile, driver, fds[1]);
      }
      close(fds[1]);
      if (pid < 0) {
        close(fds[0]);
        break;
      }
      workers[active++] = (worker){.pid = pid, .fd = fds[0], .index = next++};
    }
    if (active == 0)
      break; /* could not start a worker */
    struct pollfd pfds[64];
    for (size_t i = 0; i < active; i++)
      pfds[i] = (struct pollfd){.fd = workers[i].fd, .events = POLLIN};
    if (poll(pfds, active, -1) < 0 && errno != EINTR)
      break;
    for (size_t i = 0; i < active;) {
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) || !worker_drain(&workers[i])) {
        i++;
        continue;
      }
      worker *w = &workers[i];
      int status = 0;
      waitpid(w->pid, &status, 0);
      case_outcome o;
      worker_result(w, &o);
      record_case(opt, cases[w->index], profile, driver->ops->name, &o, run, color);
      free(o.log_tail);
      gh_runner_events_free(o.events, o.event_count);
      gu_text_free(&w->out);
      close(w->fd);
      workers[i] = workers[--active];
      pfds[i] = pfds[active];
    }
  }
}

void gh_runner_run_all(const options *opt, const gh_case_spec *const *chosen, size_t n,
                       gh_driver *driver, gh_run *run, int color) {
  if (opt->jobs > 1) {
    run_parallel(opt, chosen, n, opt->profile, driver, run, color);
    return;
  }
  for (size_t i = 0; i < n && !gh_runner_interrupted; i++) {
    case_outcome o;
    memset(&o, 0, sizeof(o));
    gh_runner_execute_case(opt, chosen[i], opt->profile, driver, &o);
    record_case(opt, chosen[i], opt->profile, driver->ops->name, &o, run, color);
    gh_runner_events_free(o.events, o.event_count);
    free(o.log_tail);
  }
}
