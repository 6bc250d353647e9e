/* test_sim_durability.c - what gatecert-sim acknowledged survives kill -9, and nothing else does.
 *
 * A burst of UPLOADS endpoint-certificate uploads (multipart, as `curl -F`
 * sends them; aliases a000..a199, each with its own small EC certificate in
 * DER) goes to a real-time simulator through libcurl's multi interface, at
 * most MAX_IN_FLIGHT at a time. Once KILL_AFTER[i] of them have been answered
 * 201, the simulator is killed with SIGKILL while the others are still in
 * flight; those transfers then fail. After a restart on the same state
 * directory:
 *
 *   - every alias that got 201 is listed and its content is byte-for-byte
 *     the DER that was uploaded (the simulator commits before it answers);
 *   - nothing outside the 200 attempted aliases is listed, and every alias
 *     present without a 201 (an "extra": committed, answer lost in the kill)
 *     was in flight at the kill, so there are at most as many extras as
 *     transfers in flight then; an alias never sent is never present;
 *   - the simulator serves (GET /_sim/status 200), rebuilt its sender trust
 *     from exactly the rows present, and neither log has an ERROR line.
 *
 * A second test shows that failed uploads leave nothing: a 409 duplicate, a
 * 500 unreadable certificate, 400s for an expired certificate, a missing
 * alias or certificate and a body that is not multipart, none of which
 * changes the list, before or after a kill -9 and restart.
 *
 * A third kills the simulator right after an acknowledged client certificate
 * upload, under --durability process (the default) and full: the
 * certificate is there after the restart.
 *
 * Printed per kill point: acknowledged, present, extras (named), transfers in
 * flight at the kill, uploads/s before the kill.
 */
#include "support.h"
#include "backend_fixture.h"
#include "backend_support.h"
#include "sim_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#define UPLOADS       200
#define MAX_IN_FLIGHT 16
#define ENDPOINT      "https://localhost:1/x"
#define LOG_ERROR     " ERROR " /* gsim_log: "<time> %-5s <message>" */

typedef enum upload_state {
  UP_NOT_SENT = 0,
  UP_IN_FLIGHT,
  UP_ACKED,   /* answered 201 */
  UP_REFUSED, /* answered, but not 201 */
  UP_FAILED,  /* no answer (the transfer failed) */
} upload_state;

typedef struct upload {
  char alias[8];
  unsigned char *der;
  size_t der_len;
  upload_state state;
  int in_flight_at_kill;
  long status;
  CURL *easy;
  curl_mime *mime;
  char error[CURL_ERROR_SIZE];
} upload;

/* The certificates, made once (group setup), and the state of one burst. */
static upload uploads[UPLOADS];
/* One keep-alive handle for reading certificates back. */
static CURL *content_handle;

/* ---- certificates ------------------------------------------------------------ */

static void der_of(X509 *cert, unsigned char **der, size_t *len) {
  unsigned char *out = NULL;
  int n = i2d_X509(cert, &out);
  assert_true(n > 0);
  *der = out;
  *len = (size_t)n;
}

/* A self-signed EC certificate valid from an hour ago for a year (or, with
 * expired, one that ended yesterday); the key is shared to keep this fast. */
static void make_cert(const char *cn, EVP_PKEY *key, int expired, unsigned char **der,
                      size_t *len) {
  char subject[64];
  int used = snprintf(subject, sizeof(subject), "CN=%.40s,O=gatecert durability", cn);
  assert_true(used > 0 && (size_t)used < sizeof(subject)); /* the names here are short */
  gcert_spec spec;
  gcert_spec_init(&spec, GCERT_KIND_SERVER);
  spec.subject = subject;
  if (expired) {
    spec.not_before = (int64_t)-30 * 86400;
    spec.not_after = -86400;
  }
  gcert_item item = {0};
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_issue(&spec, time(NULL), NULL, key, &item, &err), &err);
  der_of(item.cert, der, len);
  gcert_item_free(&item);
}

static int setup_certs(void **state) {
  (void)state;
  EVP_PKEY *key = NULL;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_EC_P256, &key, &err), &err);
  for (size_t i = 0; i < UPLOADS; i++) {
    snprintf(uploads[i].alias, sizeof(uploads[i].alias), "a%03zu", i);
    make_cert(uploads[i].alias, key, 0, &uploads[i].der, &uploads[i].der_len);
  }
  EVP_PKEY_free(key);
  return 0;
}

static int teardown_certs(void **state) {
  (void)state;
  for (size_t i = 0; i < UPLOADS; i++)
    OPENSSL_free(uploads[i].der);
  curl_easy_cleanup(content_handle);
  content_handle = NULL;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  for (size_t i = 0; i < UPLOADS; i++) { /* a failed assertion can leave transfers behind */
    curl_easy_cleanup(uploads[i].easy);
    curl_mime_free(uploads[i].mime);
    uploads[i].easy = NULL;
    uploads[i].mime = NULL;
  }
  return bs_teardown(NULL);
}

/* ---- the burst ------------------------------------------------------------------ */

// NOLINTNEXTLINE(readability-non-const-parameter): the type of a curl write callback
static size_t discard(char *data, size_t size, size_t nmemb, void *arg) {
  (void)data;
  (void)arg;
  return size * nmemb;
}

static CURL *upload_easy(st_sim *sim, upload *u, struct curl_slist *headers) {
  CURL *h = curl_easy_init();
  assert_non_null(h);
  u->mime = curl_mime_init(h);
  assert_non_null(u->mime);
  curl_mimepart *part = curl_mime_addpart(u->mime);
  curl_mime_name(part, "certificate");
  curl_mime_data(part, (const char *)u->der, u->der_len);
  curl_mime_filename(part, "backend.crt");
  curl_mime_type(part, "application/octet-stream");
  part = curl_mime_addpart(u->mime);
  curl_mime_name(part, "alias");
  curl_mime_data(part, u->alias, CURL_ZERO_TERMINATED);
  part = curl_mime_addpart(u->mime);
  curl_mime_name(part, "endpoint");
  curl_mime_data(part, ENDPOINT, CURL_ZERO_TERMINATED);
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sim->admin, ST_CERTS);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_MIMEPOST, u->mime);
  curl_easy_setopt(h, CURLOPT_USERPWD, ST_USER ":" ST_PASSWORD);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, u->error);
  curl_easy_setopt(h, CURLOPT_PRIVATE, u);
  u->error[0] = '\0';
  return h;
}

typedef struct burst {
  size_t kill_after;
  size_t acked, refused, failed;
  size_t acked_at_kill, in_flight_at_kill, sent_at_kill;
  double start_ms, ms_to_kill;
  int killed;
} burst;

static upload *upload_of(CURL *easy) {
  char *priv = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  assert_non_null(priv);
  return (upload *)(void *)priv;
}

/* One finished transfer; kills the simulator once kill_after 201s are in. */
static void transfer_done(st_sim *sim, burst *b, CURLMsg *msg, size_t *in_flight) {
  upload *u = upload_of(msg->easy_handle);
  curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &u->status);
  if (msg->data.result == CURLE_OK && u->status == 201) {
    u->state = UP_ACKED;
    b->acked++;
  } else if (msg->data.result == CURLE_OK) {
    u->state = UP_REFUSED;
    b->refused++;
    print_error("%s answered %ld\n", u->alias, u->status);
  } else {
    u->state = UP_FAILED;
    b->failed++;
  }
  (*in_flight)--;
  if (b->killed || b->acked < b->kill_after)
    return;
  /* Everything not yet seen finished is in flight now (some may already
   * have their answer waiting in a socket buffer). */
  for (size_t i = 0; i < UPLOADS; i++) {
    uploads[i].in_flight_at_kill = uploads[i].state == UP_IN_FLIGHT;
    b->in_flight_at_kill += (size_t)uploads[i].in_flight_at_kill;
    b->sent_at_kill += uploads[i].state != UP_NOT_SENT;
  }
  b->acked_at_kill = b->acked;
  b->ms_to_kill = gu_now_ms() - b->start_ms;
  st_check(st_sim_kill(sim));
  b->killed = 1;
}

/* Runs the burst until everything sent has finished (the kill makes the rest
 * fail); nothing is sent after the kill. */
static void run_burst(st_sim *sim, burst *b) {
  for (size_t i = 0; i < UPLOADS; i++) {
    uploads[i].state = UP_NOT_SENT;
    uploads[i].in_flight_at_kill = 0;
    uploads[i].status = 0;
  }
  struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
  CURLM *multi = curl_multi_init();
  assert_non_null(multi);
  size_t next = 0, in_flight = 0;
  b->start_ms = gu_now_ms();
  while (in_flight > 0 || (!b->killed && next < UPLOADS)) {
    while (!b->killed && in_flight < MAX_IN_FLIGHT && next < UPLOADS) {
      upload *u = &uploads[next++];
      u->easy = upload_easy(sim, u, headers);
      assert_int_equal(CURLM_OK, curl_multi_add_handle(multi, u->easy));
      u->state = UP_IN_FLIGHT;
      in_flight++;
    }
    int running = 0;
    assert_int_equal(CURLM_OK, curl_multi_perform(multi, &running));
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      CURL *easy = msg->easy_handle;
      upload *u = upload_of(easy);
      transfer_done(sim, b, msg, &in_flight);
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);
      curl_mime_free(u->mime);
      u->easy = NULL;
      u->mime = NULL;
    }
    if (in_flight > 0)
      curl_multi_poll(multi, NULL, 0, 100, NULL);
  }
  curl_multi_cleanup(multi);
  curl_slist_free_all(headers);
}

/* ---- reading the store back ---------------------------------------------------------- */

/* The index of an alias of ours ("a000".."a199"), or -1. */
static int alias_index(const char *alias) {
  if (strlen(alias) != 4 || alias[0] != 'a')
    return -1;
  for (size_t i = 1; i < 4; i++)
    if (alias[i] < '0' || alias[i] > '9')
      return -1;
  int n = (alias[1] - '0') * 100 + (alias[2] - '0') * 10 + (alias[3] - '0');
  return n < UPLOADS ? n : -1;
}

/* GET the list (?limit=1000) into present[]; returns how many are listed. */
static size_t list_present(st_sim *sim, int present[UPLOADS]) {
  memset(present, 0, sizeof(int) * UPLOADS);
  st_reply r;
  st_check(st_admin(sim, "GET", ST_CERTS "?limit=1000", NULL, &r));
  assert_int_equal(200, r.status);
  json_t *list = json_object_get(r.json, "certificates");
  assert_true(json_is_array(list));
  size_t count = json_array_size(list);
  assert_int_equal(count, json_integer_value(json_object_get(r.json, "count")));
  assert_int_equal(count, json_integer_value(bs_json_at(r.json, "pagination.total")));
  size_t i;
  json_t *row;
  json_array_foreach(list, i, row) {
    const char *alias = json_string_value(json_object_get(row, "alias"));
    int index = alias ? alias_index(alias) : -1;
    if (index < 0)
      fail_msg("listed alias \"%s\" was never uploaded", alias ? alias : "(none)");
    if (present[index])
      fail_msg("alias %s listed twice", alias);
    present[index] = 1;
    assert_string_equal(ENDPOINT, json_string_value(json_object_get(row, "endpoint")));
  }
  st_reply_free(&r);
  return count;
}

/* GET .../{alias}/content over one keep-alive connection (a handle reused for
 * all of them: hundreds of fresh connections would only slow this down). */
static void expect_content(st_sim *sim, const char *alias, const unsigned char *der, size_t len) {
  CURL *h = content_handle;
  if (!h) {
    h = content_handle = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_USERPWD, ST_USER ":" ST_PASSWORD);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, gu_text_curl_write);
  }
  char url[160];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s/%s/content", sim->admin, ST_CERTS, alias);
  gu_text got = {0};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK || status != 200)
    fail_msg("GET %s: %s, status %ld", url, curl_easy_strerror(rc), status);
  if (got.failed || got.len != len || memcmp(got.data, der, len) != 0)
    fail_msg("%s: %zu bytes stored, not the %zu uploaded", alias, got.len, len);
  gu_text_free(&got);
}

static int log_has_error(const char *path) {
  char *text = bs_slurp(path, NULL);
  assert_non_null(text);
  const char *line = strstr(text, LOG_ERROR);
  if (line)
    print_error("%s: %.200s\n", path, line);
  free(text);
  return line != NULL;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_kill_during_burst(void **state) {
  (void)state;
  static const size_t kill_after[] = {20, 100, 180};
  for (size_t k = 0; k < sizeof(kill_after) / sizeof(kill_after[0]); k++) {
    char dir[BS_PATH_MAX], name[32], killed_log[BS_PATH_MAX];
    snprintf(name, sizeof(name), "kill-%03zu", kill_after[k]);
    st_sim sim;
    st_sim_opts opts = {.dir = bt_scratch(dir, name)};
    st_check(st_sim_start(&sim, &opts));
    snprintf(killed_log, sizeof(killed_log), "%s", sim.proc->stderr_path);

    burst b = {.kill_after = kill_after[k]};
    run_burst(&sim, &b);
    assert_true(b.killed);
    assert_int_equal(0, b.refused);
    /* The kill came mid-burst: the rest were never sent. */
    assert_true(b.in_flight_at_kill > 0);
    assert_true(b.sent_at_kill < UPLOADS);

    st_check(st_sim_restart(&sim));
    int present[UPLOADS];
    size_t count = list_present(&sim, present);
    size_t extras = 0;
    char extra_names[MAX_IN_FLIGHT * 6 + 1] = "";
    /* Every extra must have been in flight at the kill: so there are at most
     * as many extras as transfers in flight then. */
    for (size_t i = 0; i < UPLOADS; i++) {
      const upload *u = &uploads[i];
      if (u->state == UP_ACKED && !present[i])
        fail_msg("%s was answered 201 but is gone after kill -9", u->alias);
      if (present[i] && u->state != UP_ACKED) {
        if (!u->in_flight_at_kill)
          fail_msg("%s is present but was not in flight at the kill (state %d)", u->alias,
                   (int)u->state);
        extras++;
        size_t used = strlen(extra_names);
        snprintf(extra_names + used, sizeof(extra_names) - used, " %.4s", u->alias);
      }
      if (present[i])
        expect_content(&sim, u->alias, u->der, u->der_len);
    }

    json_t *status = NULL;
    st_check(st_status(&sim, &status)); /* 200, or it fails */
    assert_int_equal(count,
                     json_integer_value(bs_json_at(status, "sender.endpoint_certificates_live")));
    json_decref(status);
    assert_false(log_has_error(killed_log));
    assert_false(log_has_error(sim.proc->stderr_path));
    st_check(st_sim_stop(&sim));

    printf("kill after %3zu acks: %3zu acked (%zu after the kill), %zu failed, %3zu present, "
           "extras %zu (of %zu in flight):%s; %.0f uploads/s before the kill (%.0f ms)\n",
           b.kill_after, b.acked, b.acked - b.acked_at_kill, b.failed, count, extras,
           b.in_flight_at_kill, extras ? extra_names : " none",
           (double)b.acked_at_kill * 1e3 / b.ms_to_kill, b.ms_to_kill);
  }
}

/* Failed uploads change nothing, before or after kill -9. */
static void test_failed_uploads_leave_nothing(void **state) {
  (void)state;
  unsigned char *expired = NULL;
  size_t expired_len = 0;
  EVP_PKEY *key = NULL;
  gcert_error err = {0};
  assert_status(GCERT_OK, gcert_key_generate(GCERT_KEY_EC_P256, &key, &err), &err);
  make_cert("expired", key, 1, &expired, &expired_len);
  EVP_PKEY_free(key);

  char dir[BS_PATH_MAX];
  st_sim sim;
  st_sim_opts opts = {.dir = bt_scratch(dir, "failed")};
  st_check(st_sim_start(&sim, &opts));
  const upload *first = &uploads[0], *second = &uploads[1];
  st_part ok[] = {
      {"certificate", first->der, first->der_len, "a.crt"},
      {"alias", first->alias, strlen(first->alias), NULL},
      {"endpoint", ENDPOINT, strlen(ENDPOINT), NULL},
  };
  st_reply r;
  st_check(st_multipart(&sim, "POST", ST_CERTS, ok, 3, &r));
  assert_int_equal(201, r.status);
  st_reply_free(&r);

  static const char garbage[] = "this is not a certificate";
  const struct {
    const char *what;
    const char *alias;
    const void *cert; /* NULL: no certificate part */
    size_t cert_len;
    long status;
  } cases[] = {
      {"duplicate alias, other certificate", "a000", second->der, second->der_len, 409},
      {"unreadable certificate", "a001", garbage, sizeof(garbage) - 1, 500},
      {"expired certificate", "a002", expired, expired_len, 400},
      {"no alias", "", second->der, second->der_len, 400},
      {"no certificate", "a003", NULL, 0, 400},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    st_part parts[3] = {
        {"alias", cases[i].alias, strlen(cases[i].alias), NULL},
        {"endpoint", ENDPOINT, strlen(ENDPOINT), NULL},
        {"certificate", cases[i].cert, cases[i].cert_len, "b.crt"},
    };
    st_check(st_multipart(&sim, "POST", ST_CERTS, parts, cases[i].cert ? 3 : 2, &r));
    if (r.status != cases[i].status)
      fail_msg("%s: expected %ld, got %ld: %s", cases[i].what, cases[i].status, r.status, r.body);
    st_reply_free(&r);
  }
  /* Not multipart at all. */
  static const char *const json_type[] = {"Content-Type: application/json", NULL};
  st_check(st_admin_raw(&sim, "POST", ST_CERTS, ST_USER ":" ST_PASSWORD, json_type, "{}", 2, &r));
  assert_int_equal(400, r.status);
  st_reply_free(&r);

  for (int round = 0; round < 2; round++) { /* as left, then after kill -9 and restart */
    int present[UPLOADS];
    assert_int_equal(1, list_present(&sim, present));
    assert_true(present[0]);
    expect_content(&sim, first->alias, first->der, first->der_len);
    st_check(st_admin(&sim, "GET", ST_CERTS "/a001", NULL, &r));
    assert_int_equal(404, r.status);
    st_reply_free(&r);
    if (round == 0) {
      st_check(st_sim_kill(&sim));
      st_check(st_sim_restart(&sim));
    }
  }
  st_check(st_sim_stop(&sim));
  OPENSSL_free(expired);
}

/* A client certificate acknowledged (201) and the simulator killed with
 * SIGKILL at once: after a restart the certificate is there (listed, held,
 * matched against by the listener), under both --durability settings (process,
 * the default, keeps the change in the page cache; full fsyncs it too). */
static void test_kill_right_after_client_cert(void **state) {
  (void)state;
  static const char *const modes[] = {"process", "full"};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    char dir[BS_PATH_MAX], name[32], id[64];
    snprintf(name, sizeof(name), "client-kill-%s", modes[i]);
    const char *extra[] = {"--durability", modes[i], NULL};
    st_sim sim;
    st_sim_opts opts = {.dir = bt_scratch(dir, name), .extra = extra};
    st_check(st_sim_start(&sim, &opts));
    assert_int_equal(201, st_create_api(&sim, "Kill", "/kill", "1.0", ENDPOINT, id));
    const upload *u = &uploads[i];
    st_part parts[] = {{"certificate", u->der, u->der_len, "c.crt"},
                       {"alias", u->alias, strlen(u->alias), NULL}};
    st_reply r;
    st_check(st_upload_client_cert(&sim, id, parts, 2, &r));
    assert_int_equal(201, r.status);
    st_reply_free(&r);
    st_check(st_sim_kill(&sim));
    st_check(st_sim_restart(&sim));
    char path[256];
    snprintf(path, sizeof(path), ST_APIS "/%s/client-certificates/%s", id, u->alias);
    st_check(st_admin(&sim, "GET", path, NULL, &r));
    if (r.status != 200 || st_status_i64(&sim, "listener.client_certificates") != 1)
      fail_msg("--durability %s: after kill -9 the certificate answers %ld, %lld held", modes[i],
               r.status, (long long)st_status_i64(&sim, "listener.client_certificates"));
    st_reply_free(&r);
    st_check(st_sim_stop(&sim));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_kill_during_burst, teardown),
      cmocka_unit_test_teardown(test_failed_uploads_leave_nothing, teardown),
      cmocka_unit_test_teardown(test_kill_right_after_client_cert, teardown),
  };
  return bt_run_curl_tests(tests, setup_certs, teardown_certs);
}
