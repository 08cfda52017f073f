/* The audit log through its C ABI only, as a C host uses it. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kars/kars.h"

#include "../check.h"

/* Expects `call` to return `code`; prints the error otherwise. */
static void expect(kars_status got, kars_status want, kars_error *err, int line) {
  if (got != want) {
    fprintf(stderr, "line %d: got %s, want %s: %s\n", line, kars_status_name(got),
            kars_status_name(want), err ? kars_error_message(err) : "");
    ++failures;
  }
  if (err != NULL && got != KARS_OK && kars_error_code(err) != got) {
    fprintf(stderr, "line %d: error object code differs from the status\n", line);
    ++failures;
  }
  kars_error_free(err);
}
#define EXPECT(want, expr)             \
  do {                                 \
    kars_error *e_ = NULL;             \
    kars_status s_ = (expr);           \
    expect(s_, (want), e_, __LINE__);  \
  } while (0)
/* For calls that need the error pointer spelled in the expression. */
#define ERR (&e_)

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb; (void)flag; (void)ftw;
  return remove(path);
}

static kars_buf make_record(const char *action) {
  char json[256];
  kars_buf rec = {NULL, 0};
  snprintf(json, sizeof json,
           "{\"principal\":{\"agent\":\"a1\"},\"subsystem\":\"policy\",\"action\":\"%s\","
           "\"effect\":\"allow\"}", action);
  EXPECT(KARS_OK, kars_audit_record_from_json(&rec, json, strlen(json), ERR));
  return rec;
}

typedef struct {
  int seen;
  int stop_at;
} iter_state;

static int count_records(uint64_t index, const uint8_t *record, size_t len, void *userdata) {
  iter_state *st = (iter_state *)userdata;
  (void)index; (void)record; (void)len;
  ++st->seen;
  return st->stop_at >= 0 && st->seen > st->stop_at;
}

/* Asynchronous appends: the callback reports each index once, in order; read after close, which
 * acknowledges everything queued and joins the writer thread that ran the callbacks. */
typedef struct {
  int acked;
  int out_of_order;
  int failed;
  uint64_t next;
} async_state;

static void on_appended(void *userdata, kars_status status, uint64_t index, const char *message) {
  async_state *st = (async_state *)userdata;
  if (status != KARS_OK || message != NULL) ++st->failed;
  if (index != st->next) ++st->out_of_order;
  st->next = index + 1;
  ++st->acked;
}

static void test_async_appends(const char *base) {
  char dir[600];
  kars_audit_log *log = NULL;
  async_state st = {0, 0, 0, 0};
  uint64_t index = 99;
  int i;
  snprintf(dir, sizeof dir, "%s/async", base);
  EXPECT(KARS_OK, kars_audit_log_open(&log, dir, NULL, ERR));
  for (i = 0; i < 200; ++i) {
    kars_buf rec = make_record("tool.invoke");
    EXPECT(KARS_OK, kars_audit_log_append_async(i % 2 ? &index : NULL, log, rec.data, rec.len,
                                                on_appended, &st, ERR));
    if (i % 2) CHECK(index == (uint64_t)i);
    if (i == 0) {
      EXPECT(KARS_E_INVALID_ARGUMENT,
             kars_audit_log_append_async(&index, log, rec.data, rec.len, NULL, &st, ERR));
      EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_log_append_async(
                                          &index, log, (const uint8_t *)"\xff\xff", 2,
                                          on_appended, &st, ERR));
    }
    kars_buf_dispose(&rec);
  }
  EXPECT(KARS_OK, kars_audit_log_close(log, ERR));
  CHECK(st.acked == 200);
  CHECK(st.out_of_order == 0);
  CHECK(st.failed == 0);
  CHECK(kars_audit_log_size(log) == 200);
  {
    kars_buf rec = make_record("tool.invoke");
    EXPECT(KARS_E_PRECONDITION, kars_audit_log_append_async(&index, log, rec.data, rec.len,
                                                            on_appended, &st, ERR));
    kars_buf_dispose(&rec);
  }
  CHECK(st.acked == 200);
  kars_audit_log_free(log);
}

int main(void) {
  char tmpl[] = "/tmp/kars-capi-audit-XXXXXX";
  char *base = mkdtemp(tmpl);
  char dir[512];
  kars_buf priv = {NULL, 0}, pub = {NULL, 0}, other_priv = {NULL, 0}, other_pub = {NULL, 0};
  kars_audit_options *opts = NULL;
  kars_audit_log *log = NULL;
  kars_buf cp4 = {NULL, 0}, cp10 = {NULL, 0}, proof = {NULL, 0}, cproof = {NULL, 0};
  kars_buf stored = {NULL, 0}, json = {NULL, 0}, report = {NULL, 0};
  uint64_t index = 0, size = 0, bad = 0;
  int i;
  iter_state st;

  CHECK(base != NULL);
  snprintf(dir, sizeof dir, "%s/log", base);

  EXPECT(KARS_OK, kars_audit_keygen(&priv, &pub, "kars.test/capi", 14, ERR));
  CHECK(strncmp((const char *)priv.data, "PRIVATE+KEY+kars.test/capi+", 27) == 0);
  CHECK(strncmp((const char *)pub.data, "kars.test/capi+", 15) == 0);
  EXPECT(KARS_OK, kars_audit_keygen(&other_priv, &other_pub, "kars.test/capi", 14, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_keygen(&other_priv, &other_pub, "bad name", 8, ERR));

  EXPECT(KARS_OK, kars_audit_options_new(&opts, ERR));
  EXPECT(KARS_OK, kars_audit_options_set_signing_key(opts, (const char *)priv.data, priv.len, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_options_set_signing_key(opts, "nonsense", 8, ERR));
  EXPECT(KARS_OK, kars_audit_options_set_origin(opts, "kars.test/capi", 14, ERR));
  EXPECT(KARS_OK, kars_audit_options_set_durability(opts, KARS_AUDIT_SYNC_BATCH, 0, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT,
         kars_audit_options_set_durability(opts, (kars_audit_durability)7, 0, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT,
         kars_audit_options_set_durability(opts, KARS_AUDIT_SYNC_INTERVAL, 0, ERR));
  EXPECT(KARS_OK, kars_audit_options_set_checkpoint_cadence(opts, 0, 0, ERR));
  EXPECT(KARS_OK, kars_audit_options_set_max_record_size(opts, 4096, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_options_set_segment_size(opts, 10, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_log_open(&log, NULL, opts, ERR));
  EXPECT(KARS_OK, kars_audit_log_open(&log, dir, opts, ERR));

  EXPECT(KARS_E_NOT_FOUND, kars_audit_log_checkpoint(&cp4, log, ERR));
  for (i = 0; i < 10; ++i) {
    kars_buf rec = make_record(i % 2 ? "tool.invoke" : "model.call");
    EXPECT(KARS_OK, kars_audit_log_append(&index, log, rec.data, rec.len, ERR));
    CHECK(index == (uint64_t)i);
    kars_buf_dispose(&rec);
    if (i == 3) EXPECT(KARS_OK, kars_audit_log_checkpoint_now(&cp4, log, ERR));
  }
  CHECK(kars_audit_log_size(log) == 10);
  {
    /* Bad input: nothing appended. */
    uint8_t big[5000];
    memset(big, 0, sizeof big);
    big[0] = 0x2a; /* field 5 (action), length-delimited */
    big[1] = 0xf0; big[2] = 0x26; /* 4976 bytes */
    memset(big + 3, 'x', sizeof big - 3);
    EXPECT(KARS_E_EXHAUSTED, kars_audit_log_append(&index, log, big, sizeof big, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT,
           kars_audit_log_append(&index, log, (const uint8_t *)"\xff\xff", 2, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_log_append(&index, log, NULL, 3, ERR));
    CHECK(kars_audit_log_size(log) == 10);
  }

  EXPECT(KARS_OK, kars_audit_log_checkpoint_now(&cp10, log, ERR));
  EXPECT(KARS_OK, kars_audit_checkpoint_verify(&size, (const char *)pub.data, pub.len, cp10.data,
                                               cp10.len, ERR));
  CHECK(size == 10);
  EXPECT(KARS_E_DENIED, kars_audit_checkpoint_verify(&size, (const char *)other_pub.data,
                                                     other_pub.len, cp10.data, cp10.len, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_checkpoint_verify(&size, (const char *)pub.data,
                                                               pub.len, (const uint8_t *)"x\n", 2, ERR));

  /* Inclusion: the record, the proof and the checkpoint agree; any change is caught. */
  EXPECT(KARS_OK, kars_audit_log_read(&stored, log, 6, ERR));
  EXPECT(KARS_OK, kars_audit_log_inclusion_proof(&proof, log, 6, 10, ERR));
  CHECK(strncmp((const char *)proof.data, "kars-audit-inclusion-proof/v1\nindex 6\nsize 10\n", 46) == 0);
  EXPECT(KARS_OK, kars_audit_inclusion_verify((const char *)pub.data, pub.len, cp10.data, cp10.len,
                                              proof.data, proof.len, stored.data, stored.len, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT,
         kars_audit_inclusion_verify((const char *)pub.data, pub.len, cp4.data, cp4.len,
                                     proof.data, proof.len, stored.data, stored.len, ERR));
  stored.data[stored.len - 1] ^= 1;
  EXPECT(KARS_E_TAMPERED,
         kars_audit_inclusion_verify((const char *)pub.data, pub.len, cp10.data, cp10.len,
                                     proof.data, proof.len, stored.data, stored.len, ERR));
  stored.data[stored.len - 1] ^= 1;
  EXPECT(KARS_E_INVALID_ARGUMENT,
         kars_audit_inclusion_verify((const char *)pub.data, pub.len, cp10.data, cp10.len,
                                     (const uint8_t *)"garbage\n", 8, stored.data, stored.len, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_log_inclusion_proof(&json, log, 10, 10, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_log_inclusion_proof(&json, log, 0, 11, ERR));

  /* Consistency between the two checkpoints. */
  EXPECT(KARS_OK, kars_audit_log_consistency_proof(&cproof, log, 4, 10, ERR));
  EXPECT(KARS_OK, kars_audit_consistency_verify((const char *)pub.data, pub.len, cp4.data, cp4.len,
                                                cp10.data, cp10.len, cproof.data, cproof.len, ERR));
  EXPECT(KARS_E_INVALID_ARGUMENT,
         kars_audit_consistency_verify((const char *)pub.data, pub.len, cp10.data, cp10.len,
                                       cp4.data, cp4.len, cproof.data, cproof.len, ERR));

  /* The standard encodings: a bare RFC 6962 audit path (4 hashes for leaf 6 of 10), a C2SP
   * tlog-proof carrying cp10, and a bare consistency path. */
  {
    kars_buf path = {NULL, 0}, tlog = {NULL, 0}, cpath = {NULL, 0};
    EXPECT(KARS_OK, kars_audit_log_inclusion_proof_v2(&path, log, 6, 10, KARS_AUDIT_PROOF_RFC6962, ERR));
    CHECK(path.len == 4 * 32);
    EXPECT(KARS_OK, kars_audit_inclusion_verify_v2((const char *)pub.data, pub.len, cp10.data,
                                                   cp10.len, path.data, path.len,
                                                   KARS_AUDIT_PROOF_RFC6962, stored.data,
                                                   stored.len, ERR));
    path.data[0] ^= 1;
    EXPECT(KARS_E_TAMPERED, kars_audit_inclusion_verify_v2((const char *)pub.data, pub.len,
                                                           cp10.data, cp10.len, path.data,
                                                           path.len, KARS_AUDIT_PROOF_RFC6962,
                                                           stored.data, stored.len, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT,
           kars_audit_inclusion_verify_v2((const char *)pub.data, pub.len, cp10.data, cp10.len,
                                          path.data, path.len - 1, KARS_AUDIT_PROOF_RFC6962,
                                          stored.data, stored.len, ERR));
    EXPECT(KARS_OK, kars_audit_log_inclusion_proof_v2(&tlog, log, 6, 10, KARS_AUDIT_PROOF_TLOG, ERR));
    CHECK(strncmp((const char *)tlog.data, "c2sp.org/tlog-proof@v1\nindex 6\n", 31) == 0);
    EXPECT(KARS_OK, kars_audit_inclusion_verify_v2((const char *)pub.data, pub.len, NULL, 0,
                                                   tlog.data, tlog.len, KARS_AUDIT_PROOF_TLOG,
                                                   stored.data, stored.len, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT,
           kars_audit_inclusion_verify_v2((const char *)pub.data, pub.len, cp10.data, cp10.len,
                                          tlog.data, tlog.len, KARS_AUDIT_PROOF_TLOG,
                                          stored.data, stored.len, ERR));
    EXPECT(KARS_E_DENIED, kars_audit_inclusion_verify_v2((const char *)other_pub.data,
                                                         other_pub.len, NULL, 0, tlog.data,
                                                         tlog.len, KARS_AUDIT_PROOF_TLOG,
                                                         stored.data, stored.len, ERR));
    EXPECT(KARS_E_NOT_FOUND, kars_audit_log_inclusion_proof_v2(&json, log, 6, 9,
                                                                KARS_AUDIT_PROOF_TLOG, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT,
           kars_audit_log_inclusion_proof_v2(&json, log, 6, 10, (kars_audit_proof_format)9, ERR));
    EXPECT(KARS_OK, kars_audit_log_consistency_proof_v2(&cpath, log, 4, 10,
                                                        KARS_AUDIT_PROOF_RFC6962, ERR));
    CHECK(cpath.len % 32 == 0 && cpath.len > 0);
    EXPECT(KARS_OK, kars_audit_consistency_verify_v2((const char *)pub.data, pub.len, cp4.data,
                                                     cp4.len, cp10.data, cp10.len, cpath.data,
                                                     cpath.len, KARS_AUDIT_PROOF_RFC6962, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT,
           kars_audit_log_consistency_proof_v2(&json, log, 4, 10, KARS_AUDIT_PROOF_TLOG, ERR));
    kars_buf_dispose(&path); kars_buf_dispose(&tlog); kars_buf_dispose(&cpath);
  }

  /* A witness (cosignature/v1 key) co-signs cp4, then cp10 with a consistency proof; the
   * cosignature verifies, an altered one does not, and a fork is refused. */
  {
    kars_buf wpriv = {NULL, 0}, wpub = {NULL, 0}, cosigned = {NULL, 0}, cosigned10 = {NULL, 0};
    char state[600];
    uint64_t when = 0;
    snprintf(state, sizeof state, "%s/witness.state", base);
    EXPECT(KARS_OK, kars_audit_keygen_v2(&wpriv, &wpub, "witness.test", 12,
                                         KARS_AUDIT_KEY_COSIGNATURE, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT,
           kars_audit_keygen_v2(&json, &report, "w", 1, (kars_audit_key_type)2, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT,
           kars_audit_witness_cosign(&cosigned, state, (const char *)priv.data, priv.len,
                                     (const char *)pub.data, pub.len, cp4.data, cp4.len, NULL, 0,
                                     ERR));
    EXPECT(KARS_OK, kars_audit_witness_cosign(&cosigned, state, (const char *)wpriv.data,
                                              wpriv.len, (const char *)pub.data, pub.len,
                                              cp4.data, cp4.len, NULL, 0, ERR));
    EXPECT(KARS_OK, kars_audit_witness_cosign(&cosigned10, state, (const char *)wpriv.data,
                                              wpriv.len, (const char *)pub.data, pub.len,
                                              cp10.data, cp10.len, cproof.data, cproof.len, ERR));
    EXPECT(KARS_OK, kars_audit_cosignature_verify(&when, (const char *)wpub.data, wpub.len,
                                                  cosigned10.data, cosigned10.len, ERR));
    CHECK(when > 1700000000u);
    EXPECT(KARS_OK, kars_audit_checkpoint_verify(&size, (const char *)pub.data, pub.len,
                                                 cosigned10.data, cosigned10.len, ERR));
    EXPECT(KARS_E_DENIED, kars_audit_cosignature_verify(&when, (const char *)wpub.data, wpub.len,
                                                        cp10.data, cp10.len, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT,
           kars_audit_cosignature_verify(&when, (const char *)pub.data, pub.len,
                                         cosigned10.data, cosigned10.len, ERR));
    cosigned10.data[cosigned10.len - 3] ^= 1; /* inside the witness's base64 signature */
    CHECK(kars_audit_cosignature_verify(&when, (const char *)wpub.data, wpub.len,
                                        cosigned10.data, cosigned10.len, NULL) != KARS_OK);
    /* Back to size 4 after 10: the witness refuses. */
    EXPECT(KARS_E_TAMPERED, kars_audit_witness_cosign(&json, state, (const char *)wpriv.data,
                                                      wpriv.len, (const char *)pub.data, pub.len,
                                                      cp4.data, cp4.len, NULL, 0, ERR));
    kars_buf_dispose(&wpriv); kars_buf_dispose(&wpub);
    kars_buf_dispose(&cosigned); kars_buf_dispose(&cosigned10);
  }

  /* Reading and iterating. */
  EXPECT(KARS_OK, kars_audit_record_to_json(&json, stored.data, stored.len, ERR));
  CHECK(strstr((const char *)json.data, "\"sequence\":\"6\"") != NULL);
  CHECK(strstr((const char *)json.data, "\"action\":\"model.call\"") != NULL);
  EXPECT(KARS_E_NOT_FOUND, kars_audit_log_read(&json, log, 10, ERR));
  st.seen = 0; st.stop_at = -1;
  EXPECT(KARS_OK, kars_audit_log_iterate(log, 2, 0, count_records, &st, ERR));
  CHECK(st.seen == 8);
  st.seen = 0; st.stop_at = 2;
  EXPECT(KARS_E_CALLBACK, kars_audit_log_iterate(log, 0, 5, count_records, &st, ERR));
  CHECK(st.seen == 3);
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_record_from_json(&json, "{\"nope\":1}", 10, ERR));

  /* A second writer is refused; after close the same log continues. */
  {
    kars_audit_log *second = NULL;
    EXPECT(KARS_E_PRECONDITION, kars_audit_log_open(&second, dir, opts, ERR));
    CHECK(second == NULL);
  }
  EXPECT(KARS_OK, kars_audit_log_close(log, ERR));
  EXPECT(KARS_E_PRECONDITION, kars_audit_log_append(&index, log, stored.data, 0, ERR));
  kars_audit_log_free(log);
  log = NULL;
  EXPECT(KARS_OK, kars_audit_log_open(&log, dir, opts, ERR));
  CHECK(kars_audit_log_size(log) == 10);
  CHECK(strcmp(kars_audit_log_recovery_notes(log), "") == 0);
  kars_audit_log_free(log);

  /* Retention on a log of small segments: the dropped records are gone (NOT_FOUND), the rest
   * verifies and proves. */
  {
    char small[600];
    kars_audit_options *so = NULL;
    kars_audit_log *sl = NULL;
    kars_buf p = {NULL, 0}, r = {NULL, 0}, c = {NULL, 0};
    uint64_t first = 0;
    snprintf(small, sizeof small, "%s/small", base);
    EXPECT(KARS_OK, kars_audit_options_new(&so, ERR));
    EXPECT(KARS_OK, kars_audit_options_set_signing_key(so, (const char *)priv.data, priv.len, ERR));
    EXPECT(KARS_OK, kars_audit_options_set_segment_size(so, 4096, ERR));
    EXPECT(KARS_OK, kars_audit_log_open(&sl, small, so, ERR));
    for (i = 0; i < 400; ++i) {
      kars_buf rec = make_record("model.call");
      EXPECT(KARS_OK, kars_audit_log_append(&index, sl, rec.data, rec.len, ERR));
      kars_buf_dispose(&rec);
    }
    EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_log_retain(&first, sl, 401, ERR));
    EXPECT(KARS_OK, kars_audit_log_retain(&first, sl, 300, ERR));
    CHECK(first > 0 && first <= 300);
    CHECK(kars_audit_log_first_index(sl) == first);
    EXPECT(KARS_E_NOT_FOUND, kars_audit_log_read(&r, sl, first - 1, ERR));
    EXPECT(KARS_E_NOT_FOUND, kars_audit_log_inclusion_proof(&p, sl, 0, 400, ERR));
    EXPECT(KARS_OK, kars_audit_log_read(&r, sl, 399, ERR));
    EXPECT(KARS_OK, kars_audit_log_checkpoint(&c, sl, ERR));
    EXPECT(KARS_OK, kars_audit_log_inclusion_proof_v2(&p, sl, 399, 400, KARS_AUDIT_PROOF_RFC6962, ERR));
    EXPECT(KARS_OK, kars_audit_inclusion_verify_v2((const char *)pub.data, pub.len, c.data, c.len,
                                                   p.data, p.len, KARS_AUDIT_PROOF_RFC6962,
                                                   r.data, r.len, ERR));
    kars_audit_log_free(sl);
    EXPECT(KARS_OK, kars_audit_verify_dir(&report, &bad, small, (const char *)pub.data, pub.len, ERR));
    CHECK(strstr((const char *)report.data, "dropped by retention") != NULL);
    kars_buf_dispose(&report);
    kars_audit_options_free(so);
    kars_buf_dispose(&p); kars_buf_dispose(&r); kars_buf_dispose(&c);
  }

  /* Whole-directory verification, with the right and the wrong key. */
  EXPECT(KARS_OK, kars_audit_verify_dir(&report, &bad, dir, (const char *)pub.data, pub.len, ERR));
  CHECK(bad == UINT64_MAX);
  CHECK(strncmp((const char *)report.data, "valid: 10 records", 17) == 0);
  kars_buf_dispose(&report);
  EXPECT(KARS_E_DENIED, kars_audit_verify_dir(&report, &bad, dir, (const char *)other_pub.data,
                                              other_pub.len, ERR));
  kars_buf_dispose(&report);
  EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_verify_dir(&report, &bad, base, NULL, 0, ERR));
  kars_buf_dispose(&report);

  /* Not-a-log and missing directories. */
  {
    kars_audit_options *ro = NULL;
    kars_audit_log *none = NULL;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing", base);
    EXPECT(KARS_OK, kars_audit_options_new(&ro, ERR));
    EXPECT(KARS_OK, kars_audit_options_set_create(ro, 0, ERR));
    EXPECT(KARS_E_NOT_FOUND, kars_audit_log_open(&none, missing, ro, ERR));
    EXPECT(KARS_E_INVALID_ARGUMENT, kars_audit_log_open(&none, base, ro, ERR));
    kars_audit_options_free(ro);
  }

  test_async_appends(base);

  kars_audit_options_free(opts);
  kars_audit_options_free(NULL);
  kars_audit_log_free(NULL);
  kars_buf_dispose(&priv); kars_buf_dispose(&pub);
  kars_buf_dispose(&other_priv); kars_buf_dispose(&other_pub);
  kars_buf_dispose(&cp4); kars_buf_dispose(&cp10);
  kars_buf_dispose(&proof); kars_buf_dispose(&cproof);
  kars_buf_dispose(&stored); kars_buf_dispose(&json);
  nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (failures == 0) printf("capi audit: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
