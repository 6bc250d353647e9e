/* test_sim_clientstore.c - the client certificate store at scale (issue 16):
 * the lookup table (certindex.h), the listener views changed incrementally
 * at their ticks, nothing rebuilt when nothing changed, and the configurable
 * limit (--max-client-certs).
 *
 * Most cases run clientauth.c in process (a gsim over a scratch store, as
 * test_sim_client_mtls's matching cases do) and read what /_sim/status would
 * show (gsim_listener_status) and what a handshake or a request would meet
 * (gsim_listener_handshake_trusts, gsim_listener_memory_trusts,
 * gsim_client_cert_match). The limit and the no-op reload are also checked
 * on a gatecert-sim process through the admin API, under each profile's paths.
 * Cases are tables, one row per step or per key pair, each named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "backend_fixture.h"
#include "certindex.h"
#include "clientauth.h"
#include "gcert.h"
#include "sim.h"
#include "sim_fixture.h"

#define API1 "11111111-1111-4111-8111-111111111111"
#define API2 "22222222-2222-4222-8222-222222222222"

/* ---- certificates: one key for every leaf (the index keys by serial + issuer) */

typedef struct pki {
  gcert_item root_a, root_b;
  gcert_item leaf_a, twin_a, twin_b, other_a; /* twins: serial 4660 under A and B */
  gcert_item many[40];                        /* leaves of root A, serials 1000.. */
} pki;

static void issue(gcert_item *out, gcert_kind kind, const char *subject, const char *serial,
                  const gcert_item *issuer, EVP_PKEY *key) {
  gcert_spec spec;
  gcert_spec_init(&spec, kind);
  spec.subject = subject;
  spec.serial = serial;
  gcert_error err = {0};
  if (gcert_issue(&spec, time(NULL), issuer, key, out, &err) != GCERT_OK)
    fail_msg("gcert_issue %s: %s", subject, err.message);
}

static void make_pki(pki *k) {
  memset(k, 0, sizeof(*k));
  issue(&k->root_a, GCERT_KIND_CA, "CN=Root A,O=store", NULL, NULL, NULL);
  issue(&k->root_b, GCERT_KIND_CA, "CN=Root B,O=store", NULL, NULL, NULL);
  issue(&k->leaf_a, GCERT_KIND_CLIENT, "CN=leaf A,O=store", NULL, &k->root_a, NULL);
  EVP_PKEY *key = k->leaf_a.key;
  issue(&k->twin_a, GCERT_KIND_CLIENT, "CN=twin,O=store", "4660", &k->root_a, key);
  issue(&k->twin_b, GCERT_KIND_CLIENT, "CN=twin,O=store", "4660", &k->root_b, key);
  issue(&k->other_a, GCERT_KIND_CLIENT, "CN=other,O=store", "4660", &k->root_a, key);
  for (int i = 0; i < 40; i++) {
    char subject[64], serial[16];
    snprintf(subject, sizeof(subject), "CN=many %d,O=store", i);
    snprintf(serial, sizeof(serial), "%d", 1000 + i);
    issue(&k->many[i], GCERT_KIND_CLIENT, subject, serial, &k->root_a, key);
  }
}

static void free_pki(pki *k) {
  gcert_item *items[] = {&k->root_a, &k->root_b, &k->leaf_a, &k->twin_a, &k->twin_b, &k->other_a};
  for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
    gcert_item_free(items[i]);
  for (int i = 0; i < 40; i++)
    gcert_item_free(&k->many[i]);
}

/* ---- the lookup table ---------------------------------------------------------- */

typedef enum key_kind { K_IDENTITY, K_IDENTITY_SUBJECT, K_NAME, K_CERT, K_TEXT } key_kind;

static void key_of(key_kind kind, X509 *cert, const X509_NAME *name, const char *text,
                   gsim_cix_key *out) {
  int rc = -1;
  switch (kind) {
  case K_IDENTITY:
    rc = gsim_cix_key_identity(cert, 0, out);
    break;
  case K_IDENTITY_SUBJECT:
    rc = gsim_cix_key_identity(cert, 1, out);
    break;
  case K_NAME:
    rc = gsim_cix_key_name(name, out);
    break;
  case K_CERT:
    rc = gsim_cix_key_cert(cert, out);
    break;
  case K_TEXT:
    rc = gsim_cix_key_text(text, out);
    break;
  }
  assert_int_equal(0, rc);
}

static void test_index_keys(void **state) {
  (void)state;
  pki k;
  make_pki(&k);
  const struct {
    const char *name;
    key_kind kind;
    X509 *a, *b;
    int equal;
  } rows[] = {
      {"serial+issuer: other subject, same key", K_IDENTITY, k.twin_a.cert, k.other_a.cert, 1},
      {"serial+issuer: other issuer, other key", K_IDENTITY, k.twin_a.cert, k.twin_b.cert, 0},
      {"serial+issuer: other serial, other key", K_IDENTITY, k.twin_a.cert, k.leaf_a.cert, 0},
      {"serial+subject: other issuer, same key", K_IDENTITY_SUBJECT, k.twin_a.cert, k.twin_b.cert,
       1},
      {"serial+subject: other subject, other key", K_IDENTITY_SUBJECT, k.twin_a.cert,
       k.other_a.cert, 0},
      {"certificate: same serial+issuer, other key", K_CERT, k.twin_a.cert, k.other_a.cert, 0},
      {"certificate: itself, same key", K_CERT, k.twin_a.cert, k.twin_a.cert, 1},
      {"serials 1000 and 1001, other keys", K_IDENTITY, k.many[0].cert, k.many[1].cert, 0},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    gsim_cix_key ka, kb;
    key_of(rows[i].kind, rows[i].a, NULL, NULL, &ka);
    key_of(rows[i].kind, rows[i].b, NULL, NULL, &kb);
    if ((memcmp(ka.d, kb.d, sizeof(ka.d)) == 0) != rows[i].equal)
      fail_msg("row \"%s\": keys %s", rows[i].name, rows[i].equal ? "differ" : "are equal");
  }
  /* a name key: a leaf's issuer finds its CA's subject */
  gsim_cix_key kn1, kn2, kn3;
  key_of(K_NAME, NULL, X509_get_issuer_name(k.leaf_a.cert), NULL, &kn1);
  key_of(K_NAME, NULL, X509_get_subject_name(k.root_a.cert), NULL, &kn2);
  key_of(K_NAME, NULL, X509_get_subject_name(k.root_b.cert), NULL, &kn3);
  assert_memory_equal(kn1.d, kn2.d, sizeof(kn1.d));
  assert_memory_not_equal(kn1.d, kn3.d, sizeof(kn1.d));
  free_pki(&k);
}

static void test_index_table(void **state) {
  (void)state;
  enum { N = 5000 };
  static int values[N];
  gsim_cix ix = {0};
  gsim_cix_key key;
  char text[32];
  for (int i = 0; i < N; i++) { /* past several doublings */
    snprintf(text, sizeof(text), "k%d", i);
    key_of(K_TEXT, NULL, NULL, text, &key);
    values[i] = i;
    assert_int_equal(0, gsim_cix_add(&ix, &key, &values[i]));
  }
  int shared[3] = {0};
  gsim_cix_key same;
  key_of(K_TEXT, NULL, NULL, "shared", &same);
  for (int i = 0; i < 3; i++)
    assert_int_equal(0, gsim_cix_add(&ix, &same, &shared[i]));
  assert_int_equal(N + 3, ix.count);
  const struct {
    const char *name;
    const char *text;
    int found; /* how many values the key holds */
  } rows[] = {
      {"first key", "k0", 1},
      {"last key", "k4999", 1},
      {"middle key", "k2500", 1},
      {"never added", "k5000", 0},
      {"three values, one key", "shared", 3},
  };
  for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
    key_of(K_TEXT, NULL, NULL, rows[r].text, &key);
    const gsim_cix_entry *cur = NULL;
    int n = 0;
    while (gsim_cix_next(&ix, &key, &cur))
      n++;
    if (n != rows[r].found)
      fail_msg("row \"%s\": %d value(s), expected %d", rows[r].name, n, rows[r].found);
  }
  key_of(K_TEXT, NULL, NULL, "k42", &key);
  const gsim_cix_entry *cur = NULL;
  assert_ptr_equal(&values[42], gsim_cix_next(&ix, &key, &cur));
  assert_int_equal(0, gsim_cix_remove(&ix, &key, &values[43])); /* not under that key */
  assert_int_equal(1, gsim_cix_remove(&ix, &key, &values[42]));
  assert_int_equal(0, gsim_cix_remove(&ix, &key, &values[42]));
  cur = NULL;
  assert_null(gsim_cix_next(&ix, &key, &cur));
  assert_int_equal(1, gsim_cix_remove(&ix, &same, &shared[1]));
  cur = NULL;
  int *first = gsim_cix_next(&ix, &same, &cur), *second = gsim_cix_next(&ix, &same, &cur);
  assert_true((first == &shared[0] && second == &shared[2]) ||
              (first == &shared[2] && second == &shared[0]));
  assert_null(gsim_cix_next(&ix, &same, &cur));
  assert_int_equal(N + 1, ix.count);
  gsim_cix_free(&ix);
  assert_int_equal(0, ix.count);
}

/* ---- the listener in process ------------------------------------------------------ */

typedef struct world {
  gsim sim;
  gsim_options opt;
  gsim_api api1, api2;
  pki k;
} world;

static void world_start(world *w, const char *name, gsim_profile profile, long limit) {
  memset(w, 0, sizeof(*w));
  make_pki(&w->k);
  w->opt.profile = profile;
  char why[256] = "";
  if (gsim_rules_resolve(&w->opt.rules, profile, why, sizeof(why)) != 0)
    fail_msg("rules: %s", why);
  w->opt.cert_match = GSIM_MATCH_SERIAL_ISSUER;
  w->opt.listener_reload_s = w->opt.listener_reload_asked_s = 600;
  w->opt.truststore_period_s = 600;
  w->opt.truststore_delay_s = 60;
  w->opt.verify_client = GSIM_VERIFY_CLIENT_OPTIONAL;
  w->opt.max_client_certs = limit;
  w->sim.opt = &w->opt;
  w->sim.started_ms = gsim_now_ms();
  gsim_reload_init(&w->sim); /* the clocks an upload names in its log line */
  snprintf(w->api1.id, sizeof(w->api1.id), API1);
  snprintf(w->api2.id, sizeof(w->api2.id), API2);
  char path[BS_PATH_MAX], file[64];
  snprintf(file, sizeof(file), "%s.db", name);
  bt_scratch(path, file);
  const char *side[] = {"", "-wal", "-shm"};
  for (size_t i = 0; i < 3; i++) {
    char p[BS_PATH_MAX + 8];
    snprintf(p, sizeof(p), "%s%s", path, side[i]);
    unlink(p);
  }
  assert_int_equal(0, gsim_store_open(path, &w->sim.store, why, sizeof(why)));
  STACK_OF(X509) *id_chain = sk_X509_new_null();
  X509_up_ref(w->k.leaf_a.cert);
  sk_X509_push(id_chain, w->k.leaf_a.cert);
  if (gsim_listener_init(&w->sim, w->k.leaf_a.key, id_chain, why, sizeof(why)) != 0)
    fail_msg("gsim_listener_init: %s", why);
  sk_X509_pop_free(id_chain, X509_free);
}

static void world_stop(world *w) {
  gsim_listener_free(&w->sim);
  gsim_store_close(w->sim.store);
  free_pki(&w->k);
}

static int64_t status_int(world *w, const char *path) {
  json_t *status = gsim_listener_status(&w->sim);
  json_t *v = bs_json_at(status, path);
  if (!v)
    fail_msg("listener status has no %s", path);
  int64_t n = json_is_boolean(v) ? json_is_true(v) : (int64_t)json_integer_value(v);
  json_decref(status);
  return n;
}

static gsim_store_status add(world *w, const char *api, const char *alias, X509 *cert) {
  gsim_client_cert *c = gsim_client_cert_new(&w->opt, api, alias, "Unlimited", "PRODUCTION", cert);
  assert_non_null(c);
  return gsim_client_cert_add(&w->sim, c);
}

static void del(world *w, const char *api, const char *alias) {
  gsim_client_cert *c = gsim_client_cert_find(&w->sim, api, "PRODUCTION", alias);
  if (!c)
    fail_msg("no client certificate %s on %s", alias, api);
  assert_int_equal(GSIM_STORE_OK, gsim_client_cert_delete(&w->sim, c));
}

static void apply(world *w, gsim_listener_view view) {
  char why[256];
  if (gsim_listener_apply(&w->sim, view, "tick", why, sizeof(why)) != 0)
    fail_msg("apply: %s", why);
}

/* Nothing queued: a tick or /_sim/reload's "requested" apply changes nothing
 * (no generation, no reload counted, no change applied). */
static void test_no_rebuild_when_unchanged(void **state) {
  (void)state;
  world w;
  world_start(&w, "noop", GSIM_PROFILE_WSO2_4, 0);
  assert_int_equal(0, add(&w, API1, "a", w.k.many[0].cert));
  apply(&w, GSIM_LISTENER_HANDSHAKE);
  apply(&w, GSIM_LISTENER_MEMORY);
  int64_t generation = status_int(&w, "profile.generation");
  int64_t reloads = status_int(&w, "profile.reloads");
  int64_t memory_reloads = status_int(&w, "truststore.reloads");
  int64_t applied = status_int(&w, "profile.changes_applied");
  assert_int_equal(2, generation);
  char why[256];
  const char *reasons[] = {"requested", "tick", "requested"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(0, gsim_listener_pending(&w.sim, GSIM_LISTENER_HANDSHAKE));
    assert_int_equal(
        0, gsim_listener_apply(&w.sim, GSIM_LISTENER_HANDSHAKE, reasons[i], why, sizeof(why)));
    assert_int_equal(
        0, gsim_listener_apply(&w.sim, GSIM_LISTENER_MEMORY, reasons[i], why, sizeof(why)));
  }
  assert_int_equal(generation, status_int(&w, "profile.generation"));
  assert_int_equal(reloads, status_int(&w, "profile.reloads"));
  assert_int_equal(memory_reloads, status_int(&w, "truststore.reloads"));
  assert_int_equal(applied, status_int(&w, "profile.changes_applied"));
  /* a change, then a no-op again */
  assert_int_equal(0, add(&w, API1, "b", w.k.many[1].cert));
  apply(&w, GSIM_LISTENER_HANDSHAKE);
  assert_int_equal(generation + 1, status_int(&w, "profile.generation"));
  apply(&w, GSIM_LISTENER_HANDSHAKE);
  assert_int_equal(generation + 1, status_int(&w, "profile.generation"));
  world_stop(&w);
}

/* What each view holds after each step: the handshake trust (the store the
 * next handshake verifies against), the in-memory trust and the match. */
typedef enum step_op { ADD, DEL, REPLACE, TICK_HS, TICK_MEM, ADD_MANY, DEL_MANY } step_op;
typedef struct step {
  const char *name;
  step_op op;
  const char *api, *alias;
  int cert, cert2; /* indexes into certs_of() */
  /* expectations for cert (and cert2 when given): 1 trusted / matched */
  int hs, mem, match_api1, match_api2;
  int hs2, mem2;
  long objects; /* trust_objects, -1: not checked */
} step;

enum { C_LEAF, C_TWIN_A, C_TWIN_B, C_MANY0, C_MANY39, C_NONE = -1 };

static X509 *cert_at(world *w, int i) {
  switch (i) {
  case C_LEAF:
    return w->k.leaf_a.cert;
  case C_TWIN_A:
    return w->k.twin_a.cert;
  case C_TWIN_B:
    return w->k.twin_b.cert;
  case C_MANY0:
    return w->k.many[0].cert;
  case C_MANY39:
    return w->k.many[39].cert;
  default:
    return NULL;
  }
}

static void run_steps(world *w, const char *profile_name, const step *steps, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const step *s = &steps[i];
    X509 *cert = cert_at(w, s->cert);
    switch (s->op) {
    case ADD:
      assert_int_equal(GSIM_STORE_OK, add(w, s->api, s->alias, cert));
      break;
    case DEL:
      del(w, s->api, s->alias);
      break;
    case REPLACE: {
      gsim_client_cert *c = gsim_client_cert_find(&w->sim, s->api, "PRODUCTION", s->alias);
      assert_non_null(c);
      assert_int_equal(GSIM_STORE_OK,
                       gsim_client_cert_update(&w->sim, c, "Unlimited", cert_at(w, s->cert2)));
      break;
    }
    case TICK_HS:
      apply(w, GSIM_LISTENER_HANDSHAKE);
      break;
    case TICK_MEM:
      apply(w, GSIM_LISTENER_MEMORY);
      break;
    case ADD_MANY: /* many[0..39] as m0..m39 on api2 */
      for (int j = 0; j < 40; j++) {
        char alias[16];
        snprintf(alias, sizeof(alias), "m%d", j);
        assert_int_equal(GSIM_STORE_OK, add(w, API2, alias, w->k.many[j].cert));
      }
      break;
    case DEL_MANY: /* m0..m29: more than the one-by-one path takes */
      for (int j = 0; j < 30; j++) {
        char alias[16];
        snprintf(alias, sizeof(alias), "m%d", j);
        del(w, API2, alias);
      }
      break;
    }
    char where[160];
    snprintf(where, sizeof(where), "%s, step %zu \"%s\"", profile_name, i, s->name);
    if (cert) {
      int hs = gsim_listener_handshake_trusts(&w->sim, cert);
      int mem = gsim_listener_memory_trusts(&w->sim, cert);
      int m1 = gsim_client_cert_match(&w->sim, &w->api1, cert, NULL) != NULL;
      int m2 = gsim_client_cert_match(&w->sim, &w->api2, cert, NULL) != NULL;
      if (hs != s->hs || mem != s->mem || m1 != s->match_api1 || m2 != s->match_api2)
        fail_msg("%s: handshake %d/%d, memory %d/%d, api1 %d/%d, api2 %d/%d (got/expected)", where,
                 hs, s->hs, mem, s->mem, m1, s->match_api1, m2, s->match_api2);
    }
    X509 *cert2 = s->cert2 == C_NONE ? NULL : cert_at(w, s->cert2);
    if (cert2) {
      int hs2 = gsim_listener_handshake_trusts(&w->sim, cert2);
      int mem2 = gsim_listener_memory_trusts(&w->sim, cert2);
      if (hs2 != s->hs2 || mem2 != s->mem2)
        fail_msg("%s: second certificate handshake %d/%d, memory %d/%d", where, hs2, s->hs2, mem2,
                 s->mem2);
    }
    if (s->objects >= 0 && status_int(w, "profile.trust_objects") != s->objects)
      fail_msg("%s: %lld objects in the handshake trust, expected %ld", where,
               (long long)status_int(w, "profile.trust_objects"), s->objects);
  }
}

static void test_incremental_views(void **state) {
  (void)state;
  /* The rows are the README's "Client to gateway mutual TLS": the map at
   * once, the handshake trust at the profile tick, the memory trust at the
   * reloader tick; one store object per distinct certificate. */
  static const step steps[] = {
      {"empty", TICK_HS, NULL, NULL, C_LEAF, C_NONE, 0, 0, 0, 0, 0, 0, 0},
      {"add leaf to api1: matches now", ADD, API1, "a", C_LEAF, C_NONE, 0, 0, 1, 0, 0, 0, 0},
      {"profile tick: handshake trusts it", TICK_HS, NULL, NULL, C_LEAF, C_NONE, 1, 0, 1, 0, 0, 0,
       1},
      {"reloader tick: memory trusts it", TICK_MEM, NULL, NULL, C_LEAF, C_NONE, 1, 1, 1, 0, 0, 0,
       1},
      {"same cert on api2", ADD, API2, "b", C_LEAF, C_NONE, 1, 1, 1, 1, 0, 0, 1},
      {"tick: still one object", TICK_HS, NULL, NULL, C_LEAF, C_NONE, 1, 1, 1, 1, 0, 0, 1},
      {"delete from api1: api2 still matches", DEL, API1, "a", C_LEAF, C_NONE, 1, 1, 0, 1, 0, 0, 1},
      {"tick: api2 holds it in the trust", TICK_HS, NULL, NULL, C_LEAF, C_NONE, 1, 1, 0, 1, 0, 0,
       1},
      {"delete from api2: trusted until the tick", DEL, API2, "b", C_LEAF, C_NONE, 1, 1, 0, 0, 0, 0,
       1},
      {"profile tick: gone from the handshake", TICK_HS, NULL, NULL, C_LEAF, C_NONE, 0, 1, 0, 0, 0,
       0, 0},
      {"reloader tick: gone from memory", TICK_MEM, NULL, NULL, C_LEAF, C_NONE, 0, 0, 0, 0, 0, 0,
       0},
      {"add twin A", ADD, API1, "t", C_TWIN_A, C_NONE, 0, 0, 1, 0, 0, 0, 0},
      {"both ticks", TICK_HS, NULL, NULL, C_TWIN_A, C_NONE, 1, 0, 1, 0, 0, 0, 1},
      {"both ticks (memory)", TICK_MEM, NULL, NULL, C_TWIN_A, C_NONE, 1, 1, 1, 0, 0, 0, 1},
      {"replace twin A by twin B: the map at once", REPLACE, API1, "t", C_TWIN_A, C_TWIN_B, 1, 1, 0,
       0, 0, 0, 1},
      {"profile tick: B in, A out", TICK_HS, NULL, NULL, C_TWIN_A, C_TWIN_B, 0, 1, 0, 0, 1, 0, 1},
      {"reloader tick: B in, A out", TICK_MEM, NULL, NULL, C_TWIN_A, C_TWIN_B, 0, 0, 0, 0, 1, 1, 1},
      {"add forty leaves to api2", ADD_MANY, NULL, NULL, C_MANY0, C_MANY39, 0, 0, 0, 1, 0, 0, 1},
      {"tick: forty more objects", TICK_HS, NULL, NULL, C_MANY0, C_MANY39, 1, 0, 0, 1, 1, 0, 41},
      {"delete thirty of them", DEL_MANY, NULL, NULL, C_MANY0, C_MANY39, 1, 0, 0, 0, 1, 0, 41},
      {"tick: thirty objects out at once", TICK_HS, NULL, NULL, C_MANY0, C_MANY39, 0, 0, 0, 0, 1, 0,
       11},
      {"reloader tick", TICK_MEM, NULL, NULL, C_MANY0, C_MANY39, 0, 0, 0, 0, 1, 1, 11},
  };
  /* clientauth.c reads no rule row: the same steps hold under every profile */
  const struct {
    const char *name;
    gsim_profile profile;
  } profiles[] = {{"wso2-4", GSIM_PROFILE_WSO2_4},
                  {"wso2-2.6", GSIM_PROFILE_WSO2_26},
                  {"sap", GSIM_PROFILE_SAP_2026}};
  for (size_t p = 0; p < 3; p++) {
    world w;
    world_start(&w, profiles[p].name, profiles[p].profile, 0);
    run_steps(&w, profiles[p].name, steps, sizeof(steps) / sizeof(steps[0]));
    assert_int_equal(11, status_int(&w, "client_certificates"));
    world_stop(&w);
  }
}

/* The limit in process: at most max_client_certs, the store unchanged past it. */
static void test_limit_in_process(void **state) {
  (void)state;
  world w;
  world_start(&w, "limit", GSIM_PROFILE_WSO2_4, 2);
  assert_int_equal(2, status_int(&w, "max_client_certificates"));
  assert_int_equal(GSIM_STORE_OK, add(&w, API1, "a", w.k.many[0].cert));
  assert_int_equal(GSIM_STORE_OK, add(&w, API1, "b", w.k.many[1].cert));
  assert_int_not_equal(GSIM_STORE_OK, add(&w, API1, "c", w.k.many[2].cert));
  assert_int_equal(2, gsim_client_cert_count(&w.sim));
  gsim_object_row row;
  assert_int_equal(GSIM_STORE_NOT_FOUND,
                   gsim_store_object_get(w.sim.store, "client_cert", API1 "/PRODUCTION/c", &row));
  world_stop(&w);
  /* the default without the option: above the old fixed 4096 */
  world_start(&w, "limit-default", GSIM_PROFILE_WSO2_4, 0);
  assert_true(status_int(&w, "max_client_certificates") > 4096);
  world_stop(&w);
}

/* ---- gatecert-sim as a process ------------------------------------------------------ */

static void write_pem(const char *name, X509 *cert) {
  char path[BS_PATH_MAX];
  FILE *f = fopen(bt_scratch(path, name), "w");
  assert_non_null(f);
  assert_int_equal(1, PEM_write_X509(f, cert));
  assert_int_equal(0, fclose(f));
}

static long upload(st_sim *sim, const char *api, const char *alias, const char *file, st_reply *r) {
  char path[BS_PATH_MAX];
  size_t len = 0;
  char *pem = bs_slurp(bt_scratch(path, file), &len);
  assert_non_null(pem);
  st_part parts[] = {{"certificate", pem, len, "client.crt"},
                     {"alias", alias, strlen(alias), NULL}};
  st_check(st_upload_client_cert(sim, api, parts, 2, r));
  free(pem);
  return r->status;
}

/* --max-client-certs 2 under each profile's paths: the third upload is the
 * profile's 400 error naming the limit; /_sim/status says it; POST
 * /_sim/reload with no pending client certificate change builds no listener
 * generation. */
static void test_limit_and_reload_process(void **state) {
  (void)state;
  pki k;
  make_pki(&k);
  write_pem("many0.pem", k.many[0].cert);
  write_pem("many1.pem", k.many[1].cert);
  write_pem("many2.pem", k.many[2].cert);
  const char *profiles[] = {"wso2-4", "wso2-2.6", "sap"};
  for (size_t p = 0; p < 3; p++) {
    char dir[BS_PATH_MAX], name[64];
    snprintf(name, sizeof(name), "proc-%s", profiles[p]);
    const char *extra[] = {"--max-client-certs", "2", NULL};
    st_sim sim;
    st_sim_opts opts = {.dir = bt_scratch(dir, name), .profile = profiles[p], .extra = extra};
    st_check(st_sim_start(&sim, &opts));
    assert_int_equal(2, st_status_i64(&sim, "listener.max_client_certificates"));
    char id[64];
    assert_int_equal(201,
                     st_create_api(&sim, "Store", "/store", "1.0", "https://localhost:9/", id));
    st_reply r;
    const char *files[] = {"many0.pem", "many1.pem", "many2.pem"};
    const char *aliases[] = {"a0", "a1", "a2"};
    for (int i = 0; i < 3; i++) {
      long status = upload(&sim, id, aliases[i], files[i], &r);
      if (i < 2 && status != 201)
        fail_msg("%s: upload %d: %ld %s", profiles[p], i, status, r.body);
      if (i == 2) {
        if (status != 400 || !r.json)
          fail_msg("%s: upload past the limit: %ld %s", profiles[p], status, r.body);
        assert_int_equal(400, json_integer_value(json_object_get(r.json, "code")));
        const char *description = json_string_value(json_object_get(r.json, "description"));
        if (!description || !strstr(description, "at most 2 client certificates"))
          fail_msg("%s: %s", profiles[p], r.body);
      }
      st_reply_free(&r);
    }
    assert_int_equal(2, st_status_i64(&sim, "listener.client_certificates"));
    /* the first reload applies the two uploads; the next two find nothing */
    for (int i = 0; i < 3; i++) {
      st_check(st_admin(&sim, "POST", "/_sim/reload", NULL, &r));
      assert_int_equal(200, r.status);
      st_reply_free(&r);
      assert_int_equal(2, st_status_i64(&sim, "listener.profile.generation"));
      assert_int_equal(1, st_status_i64(&sim, "listener.profile.reloads"));
      assert_int_equal(1, st_status_i64(&sim, "listener.truststore.reloads"));
    }
    st_check(st_sim_stop(&sim));
  }
  free_pki(&k);
}

static void test_limit_option(void **state) {
  (void)state;
  const char *bin = getenv("GATECERT_SIM_BIN");
  assert_non_null(bin);
  const struct {
    const char *value;
    int exit; /* with --rules after it: 0 when the value is taken */
  } rows[] = {{"1", 0}, {"10000000", 0}, {"0", 2}, {"-1", 2}, {"many", 2}, {"10000001", 2}};
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char cmd[BS_PATH_MAX + 128];
    snprintf(cmd, sizeof(cmd), "'%s' --max-client-certs %s --rules 2>&1 >/dev/null", bin,
             rows[i].value);
    // NOLINTNEXTLINE(cert-env33-c): the test's own command, its path quoted
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[1024];
    size_t len = fread(out, 1, sizeof(out) - 1, p);
    out[len] = '\0';
    int status = pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != rows[i].exit ||
        (rows[i].exit == 2 && !strstr(out, "--max-client-certs: \"")))
      fail_msg("--max-client-certs %s: exit %d: %s", rows[i].value, WEXITSTATUS(status), out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_keys),
      cmocka_unit_test(test_index_table),
      cmocka_unit_test(test_no_rebuild_when_unchanged),
      cmocka_unit_test(test_incremental_views),
      cmocka_unit_test(test_limit_in_process),
      cmocka_unit_test_teardown(test_limit_and_reload_process, bs_teardown),
      cmocka_unit_test(test_limit_option),
  };
  return bt_run_curl_tests(tests, NULL, NULL);
}
