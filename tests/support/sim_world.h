/* sim_world.h - the cmocka-side setup the data plane tests of gatecert-sim
 * share: a "world" is a gatecert-backend serving a catalogue row, a
 * gatecert-sim in front of it trusting the catalogue's root (optionally on a
 * fake clock, under a profile, a config and a --break), client certificates
 * made for the test, and the admin calls every such test repeats (upload a
 * client certificate, reload, a JSON call that returns its status).
 *
 * Everything here asserts (cmocka): a failure ends the test. The catalogue is
 * expected in the scratch directory (bt_setup_catalogue or _2030 as the
 * group setup).
 */
#ifndef GATECERT_SIM_WORLD_H
#define GATECERT_SIM_WORLD_H

#include "backend_support.h"
#include "sim_fixture.h"

/* A client certificate and its key, as files in the scratch directory. */
typedef struct sw_client {
  char cert[BS_PATH_MAX];
  char key[BS_PATH_MAX];
} sw_client;

/* What most data plane tests hold: a backend (its URL, port and report
 * file) and the simulator in front of it. */
typedef struct sw_world {
  bs_process *backend;
  char url[128];            /* https://localhost:<port> */
  int port;                 /* the backend endpoint's */
  char report[BS_PATH_MAX]; /* the backend endpoint's report file */
  st_sim sim;
  int64_t t0; /* a start time the test reads from /_sim/status */
} sw_world;

/* <scratch>/name in one of 8 rotating static slots. */
const char *sw_scratch(const char *name);

/* A self-signed client certificate "CN=<name>,O=gatecert" (dated from
 * TEST_REFERENCE) saved as <name>.cert.pem and <name>.key.pem. */
void sw_make_client(sw_client *c, const char *name);

/* A gatecert-backend endpoint name serving catalogue row's chain and key
 * (<row>.chain.pem, <row>.key) with extra appended to the spec (",..." or
 * NULL), reporting into the scratch directory. url (NULL: not wanted, else
 * 128 bytes) gets "https://localhost:<port>". */
bs_process *sw_backend(const char *name, const char *row, const char *extra, char *url);

/* out (BS_PATH_MAX bytes) = the report file of backend endpoint name,
 * <scratch>/<name>.jsonl; returns out. */
const char *sw_report(char *out, const char *name);

/* The requests a backend served by its report (0 while it has none), and
 * *last (when last is not NULL) the last request event (new reference, or
 * NULL). */
size_t sw_served(const char *report, json_t **last);

/* GET /<api>/1.0/menaka on the simulator's HTTPS listener (fresh connection):
 * the status; a 500's body must hold on_500 (NULL: not checked). */
long sw_get(st_sim *sim, const char *api, const char *on_500);

/* w's backend: sw_backend(name, row, extra) and its url, port and report. */
void sw_world_backend(sw_world *w, const char *name, const char *row, const char *extra);

/* Starts gatecert-sim in <scratch>/dir_name with --trust <scratch>/root.pem,
 * under profile (NULL: the default), on the fake clock starting at clock
 * (NULL: real time), with config (JSON text or NULL) and --break brk (NULL:
 * none). */
void sw_sim_start(st_sim *sim, const char *dir_name, const char *profile, const char *clock,
                  const char *config, const char *brk);

/* Starts gatecert-sim in <scratch>/dir_name with exactly the extra
 * arguments given (NULL-terminated, or NULL), under profile, on the fake
 * clock starting at clock (NULL: real time), with config (or NULL). */
void sw_sim_start_with(st_sim *sim, const char *dir_name, const char *profile, const char *clock,
                       const char *config, const char *const *extra);

/* POSTs c's certificate as a client certificate of api_id with alias and
 * tier; anything but 201 fails the test. */
void sw_upload_client(st_sim *sim, const char *api_id, const char *alias, const sw_client *c,
                      const char *tier);

/* POST /apis: name at context /<name>, version 1.0, proxying to url, with
 * isDefaultVersion is_default (-1: not sent) and securityScheme schemes (a
 * JSON array as text, NULL: not sent); anything but 201 fails the test. id
 * (64 bytes) gets the API's id. */
void sw_create_api(st_sim *sim, const char *name, const char *url, const char *schemes,
                   int is_default, char id[64]);

/* POST /_sim/reload, which must answer 200. */
void sw_reload(st_sim *sim);

/* An admin call with a JSON body (text or NULL): its status, and *out (when
 * out is not NULL) the reply's JSON (new reference, or NULL). */
long sw_admin_json(st_sim *sim, const char *method, const char *path, const char *body,
                   json_t **out);

/* Stops the simulator and then the backend; each must exit cleanly. */
void sw_stop(st_sim *sim, bs_process *backend);
/* sw_stop of w's simulator and backend. */
void sw_world_stop(sw_world *w);

#endif
