/* test_sim_cluster.c - gatecert-sim nodes of one gateway cluster (--node K).
 *
 * Real processes on loopback (port 0), all on one libfaketime clock: the
 * nodes share one timestamp file, and each clock step is confirmed by every
 * node's /_sim/time before the test goes on (the acknowledgement a harness
 * gives every node). Node 1 starts at the fake start, node 2 at +250 s, both
 * on the same state directory (node 2's scratch "state" is a symlink to node
 * 1's), each with a 600 s sender interval counted from its own start.
 *
 *   propagation  an endpoint certificate uploaded through node 1 at +590 s is
 *                pending on both nodes at once; node 1 serves 200 from its
 *                tick at +600 s while node 2 still answers 500 until its own
 *                tick at +850 s; deleted through node 2 at +900 s, node 1
 *                keeps it until +1200 s, node 2 until +1450 s. An API made
 *                through node 1 routes on node 2 at once; a client
 *                certificate added through node 2 is in node 1's map at once
 *                and pending for its listener tick; an application made
 *                through node 2 is listed by node 1.
 *   locks        a second node 1 is refused naming the first one's pid; a
 *                simulator without --node is refused on the nodes' state
 *                directory, and nodes on a directory one without --node holds;
 *                node 2 with --fresh-store is refused while node 1 runs.
 *   concurrent   two processes upload 20 certificates each at the same time,
 *                one through each node: every upload answers 201 (the busy
 *                timeout absorbs the write lock), and both nodes count 40.
 *   sigkill      node 2 killed with SIGKILL; a certificate uploaded through
 *                node 1 meanwhile; node 2 restarted loads it live at once.
 *   quirk        --quirk node-misses-change (api-manager #3167): a certificate
 *                uploaded through node 1 never reaches node 2 (not pending,
 *                still 500 after node 2's ticks) while an API still does;
 *                node 2 restarted loads it, live at once.
 *   data version in process, two connections to one store (the change feed
 *                under it): a commit through one moves the other's
 *                gsim_store_data_version, never its own.
 *
 * Each fails without --node's sharing: the locks refuse node 2, or nothing
 * reaches the other node.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"
#include "sim_world.h"
#include "store.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAKE_START "2030-01-01 00:00:00"
#define SECOND     ((int64_t)1000)

/* A cluster of two nodes on one state directory and one clock. */
typedef struct cluster {
  bs_process *backend;
  char url[128];
  st_sim node[2];
  const char *extra[2][7]; /* "--node", "K", "--backend-keepalive", "off", [quirk], NULL */
  const char *quirk;       /* --quirk on both nodes, or NULL */
  int64_t t0;              /* node 1's start (the fake start) */
} cluster;

/* Node k (0 or 1) of cl in <scratch>/<name>-node<k+1>: node 1 is started
 * fresh with its clock; node 2 shares node 1's state (a symlink) and clock
 * file, so it starts at whatever the clock says then. */
static void start_node(cluster *cl, const char *name, int k) {
  static const char *const numbers[] = {"1", "2"};
  char dir[BS_PATH_MAX], leaf[64];
  snprintf(leaf, sizeof(leaf), "%s-node%d", name, k + 1);
  bt_scratch(dir, leaf);
  cl->extra[k][0] = "--node";
  cl->extra[k][1] = numbers[k];
  /* no pooled backend connection outliving a trust change (backend_pool.c) */
  cl->extra[k][2] = "--backend-keepalive";
  cl->extra[k][3] = "off";
  cl->extra[k][4] = cl->quirk ? "--quirk" : NULL;
  cl->extra[k][5] = cl->quirk;
  cl->extra[k][6] = NULL;
  st_sim_opts opts = {.dir = dir, .clock = FAKE_START, .reload_s = 600, .extra = cl->extra[k]};
  if (k == 0) {
    st_check(st_sim_start(&cl->node[0], &opts));
    return;
  }
  st_sim *n = &cl->node[1];
  memset(n, 0, sizeof(*n));
  n->opts = opts;
  n->opts.dir = n->dir;
  snprintf(n->dir, sizeof(n->dir), "%s", dir);
  mkdir(dir, 0700);
  char link[BS_PATH_MAX], target[BS_PATH_MAX];
  unlink(bs_join(link, dir, "state"));
  bs_join(target, cl->node[0].dir, "state");
  assert_int_equal(0, symlink(target, link));
  snprintf(n->clock_file, sizeof(n->clock_file), "%s", cl->node[0].clock_file);
  st_check(st_sim_restart(n));
}

/* Moves the shared clock to t0 + s seconds; every running node confirms it. */
static void clock_at(cluster *cl, int64_t s) {
  for (int k = 0; k < 2; k++)
    if (cl->node[k].proc)
      st_check(st_clock_set(&cl->node[k], cl->t0 + s * SECOND));
}

static void start_cluster_with(cluster *cl, const char *name, const char *quirk) {
  memset(cl, 0, sizeof(*cl));
  cl->quirk = quirk;
  cl->backend = sw_backend(name, "server", NULL, cl->url);
  start_node(cl, name, 0);
  cl->t0 = st_status_i64(&cl->node[0], "started_ms");
  assert_true(cl->t0 > 0);
  clock_at(cl, 250);
  start_node(cl, name, 1);
  assert_int_equal(2, st_status_i64(&cl->node[1], "node"));
  assert_int_equal(1, st_status_i64(&cl->node[0], "cluster.node"));
  int64_t started = st_status_i64(&cl->node[1], "started_ms");
  assert_true(llabs(started - (cl->t0 + 250 * SECOND)) < SECOND); /* the clock file holds seconds */
}

static void start_cluster(cluster *cl, const char *name) { start_cluster_with(cl, name, NULL); }

static void stop_cluster(cluster *cl) {
  for (int k = 1; k >= 0; k--)
    if (cl->node[k].proc)
      st_check(st_sim_stop(&cl->node[k]));
  if (cl->backend)
    bs_check(bs_stop(cl->backend) == 0);
}

static long call(st_sim *n) {
  bs_response res;
  st_check(st_call(n, "/test/1.0/menaka", &res));
  long status = res.status;
  bs_response_free(&res);
  return status;
}

static int pending(st_sim *n) {
  json_t *status = NULL;
  st_check(st_status(n, &status));
  int p = json_is_true(bs_json_at(status, "sender.pending_change"));
  json_decref(status);
  return p;
}

static void upload(cluster *cl, int k, const char *alias) {
  char path[BS_PATH_MAX];
  st_reply r;
  st_check(st_upload_cert(&cl->node[k], alias, cl->url, bt_scratch(path, "root.pem"), &r));
  if (r.status != 201)
    fail_msg("upload %s through node %d: %ld %s", alias, k + 1, r.status, r.body);
  st_reply_free(&r);
}

/* Each node's verdict at t0 + at_s. */
typedef struct step {
  int64_t at_s;
  long node1, node2;
} step;

static void expect_steps(cluster *cl, const char *what, const step *steps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    clock_at(cl, steps[i].at_s);
    long got1 = call(&cl->node[0]), got2 = call(&cl->node[1]);
    if (got1 != steps[i].node1 || got2 != steps[i].node2)
      fail_msg("%s at +%llds: node 1 %ld (want %ld), node 2 %ld (want %ld)", what,
               (long long)steps[i].at_s, got1, steps[i].node1, got2, steps[i].node2);
  }
}

static void test_propagation(void **state) {
  (void)state;
  cluster cl;
  start_cluster(&cl, "propagation");
  double real_start = gu_now_ms();
  /* an API through node 1: deployed on node 2 at once */
  char api[64];
  assert_int_equal(201, st_create_api(&cl.node[0], "Test", "/test", "1.0", cl.url, api));
  assert_int_equal(500, call(&cl.node[1])); /* routed (not 404), backend untrusted */
  assert_int_equal(1, st_status_i64(&cl.node[1], "apis"));

  clock_at(&cl, 590);
  upload(&cl, 0, "echo");
  assert_true(pending(&cl.node[0]));
  assert_true(pending(&cl.node[1])); /* the next call after the write sees it pending */
  static const step live[] = {{599, 500, 500}, {601, 200, 500}, {849, 200, 500}, {851, 200, 200}};
  expect_steps(&cl, "upload through node 1", live, sizeof(live) / sizeof(live[0]));
  assert_false(pending(&cl.node[1]));

  /* deleted through node 2 at +900 s */
  clock_at(&cl, 900);
  char path[256];
  snprintf(path, sizeof(path), "%s/echo", st_certs_path(&cl.node[1]));
  st_reply r;
  st_check(st_admin(&cl.node[1], "DELETE", path, NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  assert_true(pending(&cl.node[0]));
  static const step gone[] = {
      {1199, 200, 200}, {1201, 500, 200}, {1449, 500, 200}, {1451, 500, 500}};
  expect_steps(&cl, "delete through node 2", gone, sizeof(gone) / sizeof(gone[0]));
  printf("# two nodes (+0 s, +250 s): upload and delete live at each node's own tick, %.0f ms "
         "real\n",
         gu_now_ms() - real_start);

  /* a client certificate through node 2: in node 1's map at once, its
   * handshake trust pending until node 1's listener tick */
  sw_client client;
  sw_make_client(&client, "cluster-client");
  sw_upload_client(&cl.node[1], api, "c1", &client, "Unlimited");
  assert_int_equal(1, st_status_i64(&cl.node[0], "listener.client_certificates"));
  json_t *status = NULL;
  st_check(st_status(&cl.node[0], &status));
  assert_true(json_is_true(bs_json_at(status, "listener.profile.pending_change")));
  json_decref(status);
  assert_int_equal(1, st_status_i64(&cl.node[0], "cluster.client_cert_changes"));
  clock_at(&cl, 1801); /* node 1's listener tick at +1800 s */
  assert_int_equal(1, st_status_i64(&cl.node[0], "listener.profile.certificates_live"));
  /* deleted through node 1: gone from node 2's map at once */
  snprintf(path, sizeof(path), "%s/%s/client-certificates/c1", ST_APIS, api);
  st_check(st_admin(&cl.node[0], "DELETE", path, NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  assert_int_equal(0, st_status_i64(&cl.node[1], "listener.client_certificates"));

  /* an application through node 2: listed by node 1 */
  assert_int_equal(201, sw_admin_json(&cl.node[1], "POST", "/api/am/devportal/v3/applications",
                                      "{\"name\":\"app one\",\"throttlingPolicy\":\"Unlimited\"}",
                                      NULL));
  json_t *apps = NULL;
  assert_int_equal(
      200, sw_admin_json(&cl.node[0], "GET", "/api/am/devportal/v3/applications", NULL, &apps));
  assert_int_equal(1, json_integer_value(json_object_get(apps, "count")));
  json_decref(apps);

  /* the API deleted through node 2: undeployed on node 1 at once */
  snprintf(path, sizeof(path), "%s/%s", ST_APIS, api);
  st_check(st_admin(&cl.node[1], "DELETE", path, NULL, &r));
  assert_int_equal(200, r.status);
  st_reply_free(&r);
  assert_int_equal(0, st_status_i64(&cl.node[0], "apis"));
  assert_int_equal(404, call(&cl.node[0]));
  assert_int_equal(0, st_status_i64(&cl.node[0], "cluster.sync_failures"));
  stop_cluster(&cl);
}

/* Starts gatecert-sim on state (password file pw) with --node node (NULL:
 * none) and flag (NULL: none) and expects it to exit 1 before READY with
 * needle on stderr. */
static void expect_refused(const char *state, const char *pw, const char *node, const char *flag,
                           const char *needle) {
  const char *args[11] = {"--state", state, "--admin-user", ST_USER, "--admin-password-file", pw};
  size_t n = 6;
  if (node) {
    args[n++] = "--node";
    args[n++] = node;
  }
  if (flag)
    args[n++] = flag;
  args[n] = NULL;
  bs_start_opts opts = {.args = args,
                        .scratch_dir = test_scratch_dir(),
                        .bin = getenv("GATECERT_SIM_BIN"),
                        .single_ready = 1};
  int code = -1;
  char err[4096] = "";
  if (bs_start_fails(&opts, &code, err, sizeof(err)) != 0)
    fail_msg("--node %s: %s", node ? node : "(none)", bs_error());
  if (code != 1 || !strstr(err, needle))
    fail_msg("--node %s: exit %d, expected 1 and \"%s\" in: %s", node ? node : "(none)", code,
             needle, err);
}

static void test_locks(void **state) {
  (void)state;
  char dir[BS_PATH_MAX], state_dir[BS_PATH_MAX], pw[BS_PATH_MAX], want[160];
  static const char *const node1[] = {"--node", "1", NULL};
  st_sim a;
  st_sim_opts opts = {.dir = bt_scratch(dir, "locks-a"), .extra = node1};
  st_check(st_sim_start(&a, &opts));
  bs_join(state_dir, a.dir, "state");
  bs_join(pw, a.dir, "admin.password");
  snprintf(want, sizeof(want), "node 1 is already running, pid %ld", (long)a.proc->pid);
  expect_refused(state_dir, pw, "1", NULL, want);
  /* --fresh-store would replace the store under node 1 */
  snprintf(want, sizeof(want),
           "--fresh-store would replace the store under the other nodes of the "
           "cluster (pid %ld uses it)",
           (long)a.proc->pid);
  expect_refused(state_dir, pw, "2", "--fresh-store", want);
  snprintf(want, sizeof(want), "in use by the nodes of a gateway cluster (--node), pid %ld",
           (long)a.proc->pid);
  expect_refused(state_dir, pw, NULL, NULL, want);
  st_check(st_sim_stop(&a));

  st_sim b;
  opts = (st_sim_opts){.dir = bt_scratch(dir, "locks-b")};
  st_check(st_sim_start(&b, &opts));
  json_t *status = NULL; /* without --node: no node, no cluster */
  st_check(st_status(&b, &status));
  assert_true(json_is_null(json_object_get(status, "node")));
  assert_true(json_is_null(json_object_get(status, "cluster")));
  json_decref(status);
  bs_join(state_dir, b.dir, "state");
  bs_join(pw, b.dir, "admin.password");
  snprintf(want, sizeof(want), "in use by a gatecert-sim without --node, pid %ld",
           (long)b.proc->pid);
  expect_refused(state_dir, pw, "3", NULL, want);
  st_check(st_sim_stop(&b));
}

enum { CONCURRENT_UPLOADS = 20 };

/* Uploads CONCURRENT_UPLOADS certificates through node k; how many did not
 * answer 201. */
static int upload_many(cluster *cl, int k) {
  char path[BS_PATH_MAX];
  bt_scratch(path, "root.pem");
  int bad = 0;
  for (int i = 0; i < CONCURRENT_UPLOADS; i++) {
    char alias[32];
    snprintf(alias, sizeof(alias), "n%d-%d", k + 1, i);
    st_reply r;
    if (st_upload_cert(&cl->node[k], alias, cl->url, path, &r) != 0 || r.status != 201) {
      fprintf(stderr, "node %d %s: %ld %s\n", k + 1, alias, r.status, r.body ? r.body : "");
      bad++;
    }
    st_reply_free(&r);
  }
  return bad;
}

static void test_concurrent_writes(void **state) {
  (void)state;
  cluster cl;
  start_cluster(&cl, "concurrent");
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0)
    _exit(upload_many(&cl, 1) == 0 ? 0 : 1);
  int bad = upload_many(&cl, 0);
  int status = 0;
  assert_int_equal(child, waitpid(child, &status, 0));
  assert_true(WIFEXITED(status));
  assert_int_equal(0, WEXITSTATUS(status));
  assert_int_equal(0, bad);
  json_t *list = NULL;
  for (int k = 0; k < 2; k++) {
    assert_int_equal(200,
                     sw_admin_json(&cl.node[k], "GET", st_certs_path(&cl.node[k]), NULL, &list));
    /* a page holds 25: the total counts them all */
    assert_int_equal(2 * CONCURRENT_UPLOADS,
                     json_integer_value(bs_json_at(list, "pagination.total")));
    json_decref(list);
  }
  stop_cluster(&cl);
}

static void test_sigkill_restart(void **state) {
  (void)state;
  cluster cl;
  start_cluster(&cl, "sigkill");
  char api[64];
  assert_int_equal(201, st_create_api(&cl.node[0], "Test", "/test", "1.0", cl.url, api));
  st_check(st_sim_kill(&cl.node[1]));
  clock_at(&cl, 300);
  upload(&cl, 0, "echo");
  st_check(st_sim_restart(&cl.node[1])); /* at +300 s: its clocks from there */
  int64_t started = st_status_i64(&cl.node[1], "started_ms");
  assert_true(llabs(started - (cl.t0 + 300 * SECOND)) < SECOND);
  assert_int_equal(200, call(&cl.node[1])); /* loaded at start: live at once */
  assert_int_equal(500, call(&cl.node[0])); /* node 1 waits for its tick at +600 s */
  clock_at(&cl, 601);
  assert_int_equal(200, call(&cl.node[0]));
  stop_cluster(&cl);
}

static void test_quirk_node_misses_change(void **state) {
  (void)state;
  cluster cl;
  start_cluster_with(&cl, "quirk", "node-misses-change");
  char api[64];
  assert_int_equal(201, st_create_api(&cl.node[0], "Test", "/test", "1.0", cl.url, api));
  assert_int_equal(500, call(&cl.node[1])); /* the API reached node 2 */
  clock_at(&cl, 590);
  upload(&cl, 0, "echo");
  assert_true(pending(&cl.node[0]));
  assert_false(pending(&cl.node[1]));
  static const step missed[] = {{601, 200, 500}, {851, 200, 500}, {1451, 200, 500}};
  expect_steps(&cl, "node-misses-change", missed, sizeof(missed) / sizeof(missed[0]));
  assert_true(st_log_contains(&cl.node[1], "rule cluster.node-misses-change"));
  st_check(st_sim_restart(&cl.node[1])); /* a restart loads the store */
  assert_int_equal(200, call(&cl.node[1]));
  stop_cluster(&cl);
}

static void test_data_version(void **state) {
  (void)state;
  char *path = test_scratch_path("data-version.db");
  unlink(path);
  gsim_store *a = NULL, *b = NULL;
  char why[512];
  if (gsim_store_open(path, &a, why, sizeof(why)) != 0 ||
      gsim_store_open(path, &b, why, sizeof(why)) != 0)
    fail_msg("%s", why);
  int64_t a0 = 0, b0 = 0, v = 0;
  assert_int_equal(GSIM_STORE_OK, gsim_store_data_version(a, &a0));
  assert_int_equal(GSIM_STORE_OK, gsim_store_data_version(b, &b0));
  gsim_object_row row;
  memset(&row, 0, sizeof(row));
  snprintf(row.kind, sizeof(row.kind), "%s", "test");
  snprintf(row.key, sizeof(row.key), "%s", "one");
  row.json = "{}";
  assert_int_equal(GSIM_STORE_OK, gsim_store_object_insert(a, &row));
  assert_int_equal(GSIM_STORE_OK, gsim_store_data_version(a, &v));
  assert_int_equal(a0, v); /* its own write: unchanged */
  assert_int_equal(GSIM_STORE_OK, gsim_store_data_version(b, &v));
  assert_true(v != b0); /* the other connection's: changed */
  int64_t b1 = v;
  assert_int_equal(GSIM_STORE_OK, gsim_store_data_version(b, &v));
  assert_int_equal(b1, v); /* nothing since: unchanged */
  assert_int_equal(GSIM_STORE_OK, gsim_store_object_delete(b, "test", "one"));
  assert_int_equal(GSIM_STORE_OK, gsim_store_data_version(a, &v));
  assert_true(v != a0);
  assert_int_equal(GSIM_STORE_ERROR, gsim_store_data_version(NULL, &v));
  gsim_store_close(a);
  gsim_store_close(b);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_propagation, bs_teardown),
      cmocka_unit_test_teardown(test_locks, bs_teardown),
      cmocka_unit_test_teardown(test_concurrent_writes, bs_teardown),
      cmocka_unit_test_teardown(test_sigkill_restart, bs_teardown),
      cmocka_unit_test_teardown(test_quirk_node_misses_change, bs_teardown),
      cmocka_unit_test(test_data_version),
  };
  return bt_run_curl_tests(tests, bt_setup_catalogue_2030, NULL);
}
