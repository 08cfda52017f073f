/* Writes a kars audit log and the artefacts an outside verifier receives, through the C ABI
 * only: verifier keys, signed checkpoints (one co-signed by a witness), record bytes, and
 * proofs in the standard encodings (bare RFC 6962 audit paths, C2SP tlog-proof). The Go
 * program beside it checks them with independent implementations.
 * Usage: make_log OUT_DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kars/kars.h"

enum { kRecords = 37, kEarlySize = 21 };

static const char *out_dir;

static void ok(kars_status s, kars_error *err, const char *what) {
  if (s == KARS_OK) return;
  fprintf(stderr, "make_log: %s: %s\n", what, err ? kars_error_message(err) : kars_status_name(s));
  exit(1);
}

static void put(const char *name, const uint8_t *data, size_t len) {
  char path[1024];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", out_dir, name);
  f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
    fprintf(stderr, "make_log: cannot write %s: %s\n", path, strerror(errno));
    exit(1);
  }
}

static void put_buf(const char *name, kars_buf *b) {
  put(name, b->data, b->len);
  kars_buf_dispose(b);
}

int main(int argc, char **argv) {
  kars_error *err = NULL;
  kars_buf log_priv = {NULL, 0}, log_pub = {NULL, 0}, w_priv = {NULL, 0}, w_pub = {NULL, 0};
  kars_buf cp_early = {NULL, 0}, cp_final = {NULL, 0}, cosigned = {NULL, 0}, b = {NULL, 0};
  kars_audit_options *opts = NULL;
  kars_audit_log *log = NULL;
  char dir[1024], name[128], state[1024];
  uint64_t i, index = 0, size;

  if (argc != 2) {
    fprintf(stderr, "usage: make_log OUT_DIR\n");
    return 2;
  }
  out_dir = argv[1];
  if (mkdir(out_dir, 0750) != 0 && errno != EEXIST) return 2;
  snprintf(dir, sizeof dir, "%s/log", out_dir);
  snprintf(state, sizeof state, "%s/witness.state", out_dir);

  ok(kars_audit_keygen(&log_priv, &log_pub, "kars.interop/log", 16, &err), err, "keygen");
  ok(kars_audit_keygen_v2(&w_priv, &w_pub, "witness.interop", 15, KARS_AUDIT_KEY_COSIGNATURE,
                          &err),
     err, "witness keygen");
  put("log.vkey", log_pub.data, log_pub.len);
  put("witness.vkey", w_pub.data, w_pub.len);

  ok(kars_audit_options_new(&opts, &err), err, "options");
  ok(kars_audit_options_set_signing_key(opts, (const char *)log_priv.data, log_priv.len, &err),
     err, "signing key");
  ok(kars_audit_options_set_checkpoint_cadence(opts, 0, 0, &err), err, "cadence");
  ok(kars_audit_log_open(&log, dir, opts, &err), err, "open");
  for (i = 0; i < kRecords; ++i) {
    kars_buf rec = {NULL, 0};
    char json[256];
    snprintf(json, sizeof json,
             "{\"principal\":{\"agent\":\"agent-%u\"},\"subsystem\":\"policy\","
             "\"action\":\"model.call\",\"effect\":\"%s\",\"rule_id\":\"rule-%u\"}",
             (unsigned)(i % 5), i % 3 ? "allow" : "deny", (unsigned)i);
    ok(kars_audit_record_from_json(&rec, json, strlen(json), &err), err, "record");
    ok(kars_audit_log_append(&index, log, rec.data, rec.len, &err), err, "append");
    kars_buf_dispose(&rec);
    ok(kars_audit_log_read(&b, log, index, &err), err, "read");
    snprintf(name, sizeof name, "record-%u", (unsigned)index);
    put_buf(name, &b);
    if (index + 1 == kEarlySize) {
      ok(kars_audit_log_checkpoint_now(&cp_early, log, &err), err, "checkpoint");
    }
  }
  ok(kars_audit_log_checkpoint_now(&cp_final, log, &err), err, "checkpoint");
  put("checkpoint-early", cp_early.data, cp_early.len);
  put("checkpoint-final", cp_final.data, cp_final.len);

  for (i = 0; i < kRecords; ++i) {
    ok(kars_audit_log_inclusion_proof_v2(&b, log, i, kRecords, KARS_AUDIT_PROOF_RFC6962, &err),
       err, "inclusion path");
    snprintf(name, sizeof name, "inclusion-%u-%u", (unsigned)i, (unsigned)kRecords);
    put_buf(name, &b);
    ok(kars_audit_log_inclusion_proof_v2(&b, log, i, kRecords, KARS_AUDIT_PROOF_TLOG, &err), err,
       "tlog-proof");
    snprintf(name, sizeof name, "tlog-proof-%u", (unsigned)i);
    put_buf(name, &b);
    if (i < kEarlySize) {
      ok(kars_audit_log_inclusion_proof_v2(&b, log, i, kEarlySize, KARS_AUDIT_PROOF_RFC6962,
                                           &err),
         err, "inclusion path");
      snprintf(name, sizeof name, "inclusion-%u-%u", (unsigned)i, (unsigned)kEarlySize);
      put_buf(name, &b);
    }
  }
  for (size = 1; size <= kRecords; ++size) {
    ok(kars_audit_log_consistency_proof_v2(&b, log, size, kRecords, KARS_AUDIT_PROOF_RFC6962,
                                           &err),
       err, "consistency path");
    snprintf(name, sizeof name, "consistency-%u-%u", (unsigned)size, (unsigned)kRecords);
    put_buf(name, &b);
  }

  /* The witness co-signs the early checkpoint, then the final one given a consistency proof. */
  ok(kars_audit_witness_cosign(&cosigned, state, (const char *)w_priv.data, w_priv.len,
                               (const char *)log_pub.data, log_pub.len, cp_early.data,
                               cp_early.len, NULL, 0, &err),
     err, "cosign early");
  kars_buf_dispose(&cosigned);
  ok(kars_audit_log_consistency_proof(&b, log, kEarlySize, kRecords, &err), err, "consistency");
  ok(kars_audit_witness_cosign(&cosigned, state, (const char *)w_priv.data, w_priv.len,
                               (const char *)log_pub.data, log_pub.len, cp_final.data,
                               cp_final.len, b.data, b.len, &err),
     err, "cosign final");
  kars_buf_dispose(&b);
  put_buf("checkpoint-final-cosigned", &cosigned);

  ok(kars_audit_log_close(log, &err), err, "close");
  kars_audit_log_free(log);
  kars_audit_options_free(opts);
  kars_buf_dispose(&log_priv);
  kars_buf_dispose(&log_pub);
  kars_buf_dispose(&w_priv);
  kars_buf_dispose(&w_pub);
  kars_buf_dispose(&cp_early);
  kars_buf_dispose(&cp_final);
  printf("make_log: wrote %u records and their proofs to %s\n", (unsigned)kRecords, out_dir);
  return 0;
}
