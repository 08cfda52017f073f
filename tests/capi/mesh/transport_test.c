/* The mesh C ABI with a host-supplied transport: two agents exchange messages through callbacks
 * the test supplies (an in-memory directory and mailboxes holding the opaque bytes the agents hand
 * over), with no relay; then the identity-change callback deferring, approving and rejecting a
 * peer's new identity key. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kars/common.h>
#include <kars/mesh.h>

#include "../check.h"

/* --- the host's fabric: a directory and mailboxes of opaque bytes ------------------------- */

#define MAX_BOXES 4
#define MAX_ITEMS 4096

typedef struct {
  uint8_t *data;
  size_t len;
} blob;

typedef struct {
  char name[64];
  blob bundle;
  blob prekeys[MAX_ITEMS];
  size_t n_prekeys;
  blob envelopes[MAX_ITEMS]; /* by seq - 1 within this mailbox; data NULL once acked */
  uint8_t ids[MAX_ITEMS][16];
  size_t n_envelopes;
} mailbox;

typedef struct {
  mailbox boxes[MAX_BOXES];
  size_t n_boxes;
  int sends, acks, fetches;
} fabric;

typedef struct {
  fabric *fab;
  char mailbox[64];
  int *freed; /* incremented by userdata_free */
} endpoint;

static blob copy_blob(const uint8_t *data, size_t len) {
  blob b;
  b.data = malloc(len > 0 ? len : 1);
  if (len > 0) memcpy(b.data, data, len);
  b.len = len;
  return b;
}

static mailbox *find_box(fabric *f, const char *name, int create) {
  size_t i;
  for (i = 0; i < f->n_boxes; ++i) {
    if (strcmp(f->boxes[i].name, name) == 0) return &f->boxes[i];
  }
  if (!create || f->n_boxes == MAX_BOXES) return NULL;
  snprintf(f->boxes[f->n_boxes].name, sizeof f->boxes[0].name, "%s", name);
  return &f->boxes[f->n_boxes++];
}

static int publish_keys(uint32_t *held, const char *name, const uint8_t *bundle, size_t bundle_len,
                        const uint8_t *const *prekeys, const size_t *prekey_lens, size_t n,
                        void *userdata) {
  endpoint *ep = userdata;
  mailbox *box = find_box(ep->fab, name, 1);
  size_t i;
  if (box == NULL || strcmp(name, ep->mailbox) != 0) return KARS_E_DENIED;
  free(box->bundle.data);
  box->bundle = copy_blob(bundle, bundle_len);
  for (i = 0; i < n && box->n_prekeys < MAX_ITEMS; ++i) {
    box->prekeys[box->n_prekeys++] = copy_blob(prekeys[i], prekey_lens[i]);
  }
  *held = (uint32_t)box->n_prekeys;
  return 0;
}

static int fetch_bundle(kars_buf *bundle, kars_buf *prekey, const char *name, void *userdata) {
  endpoint *ep = userdata;
  mailbox *box = find_box(ep->fab, name, 0);
  ep->fab->fetches++;
  if (box == NULL || box->bundle.data == NULL) return KARS_E_NOT_FOUND;
  bundle->data = malloc(box->bundle.len);
  memcpy(bundle->data, box->bundle.data, box->bundle.len);
  bundle->len = box->bundle.len;
  if (box->n_prekeys > 0) { /* hand out the newest and forget it: each is used once */
    blob last = box->prekeys[--box->n_prekeys];
    prekey->data = last.data;
    prekey->len = last.len;
  }
  return 0;
}

static int send_envelope(int *duplicate, const char *const *recipients, size_t n,
                         const uint8_t *envelope, size_t len, const uint8_t *id, size_t id_len,
                         void *userdata) {
  endpoint *ep = userdata;
  size_t i, j;
  if (id_len != 16) return KARS_E_INVALID_ARGUMENT;
  for (i = 0; i < n; ++i) { /* all or none */
    if (find_box(ep->fab, recipients[i], 0) == NULL) return KARS_E_NOT_FOUND;
  }
  *duplicate = 0;
  for (i = 0; i < n; ++i) {
    mailbox *box = find_box(ep->fab, recipients[i], 0);
    for (j = 0; j < box->n_envelopes; ++j) {
      if (memcmp(box->ids[j], id, 16) == 0) *duplicate = 1;
    }
    if (*duplicate || box->n_envelopes == MAX_ITEMS) continue;
    memcpy(box->ids[box->n_envelopes], id, 16);
    box->envelopes[box->n_envelopes++] = copy_blob(envelope, len);
  }
  ep->fab->sends++;
  return 0;
}

static int ack(const uint64_t *seqs, size_t n, void *userdata) {
  endpoint *ep = userdata;
  mailbox *box = find_box(ep->fab, ep->mailbox, 0);
  size_t i;
  for (i = 0; i < n; ++i) {
    if (box != NULL && seqs[i] >= 1 && seqs[i] <= box->n_envelopes) {
      free(box->envelopes[seqs[i] - 1].data);
      box->envelopes[seqs[i] - 1].data = NULL;
    }
  }
  ep->fab->acks += (int)n;
  return 0;
}

static void free_endpoint(void *userdata) {
  endpoint *ep = userdata;
  ++*ep->freed;
  free(ep);
}

static const kars_mesh_transport_callbacks callbacks = {publish_keys, fetch_bundle, send_envelope,
                                                        ack};

/* Pushes everything `name`'s mailbox holds that is not acknowledged. */
static void deliver(fabric *f, kars_mesh_agent *agent, const char *name) {
  mailbox *box = find_box(f, name, 0);
  size_t i;
  if (box == NULL) return;
  for (i = 0; i < box->n_envelopes; ++i) {
    if (box->envelopes[i].data != NULL) {
      CHECK(kars_mesh_agent_push(agent, i + 1, box->envelopes[i].data, box->envelopes[i].len,
                                 NULL) == KARS_OK);
    }
  }
}

static void free_fabric(fabric *f) {
  size_t i, j;
  for (i = 0; i < f->n_boxes; ++i) {
    free(f->boxes[i].bundle.data);
    for (j = 0; j < f->boxes[i].n_prekeys; ++j) free(f->boxes[i].prekeys[j].data);
    for (j = 0; j < f->boxes[i].n_envelopes; ++j) free(f->boxes[i].envelopes[j].data);
  }
}

/* --- agents and events ------------------------------------------------------------------ */

static char workdir[256];

typedef struct {
  int messages, duplicates, identity_changed, rejected;
  kars_status rejected_status;
  char last_body[256];
} seen;

static int on_event(const kars_mesh_event *ev, void *userdata) {
  seen *s = userdata;
  size_t len = 0;
  const uint8_t *body;
  switch (kars_mesh_event_get_kind(ev)) {
    case KARS_MESH_EVENT_MESSAGE:
      body = kars_mesh_event_get_body(ev, &len);
      if (len >= sizeof s->last_body) len = sizeof s->last_body - 1;
      memcpy(s->last_body, body, len);
      s->last_body[len] = 0;
      s->messages++;
      break;
    case KARS_MESH_EVENT_DUPLICATE:
      s->duplicates++;
      break;
    case KARS_MESH_EVENT_IDENTITY_CHANGED:
      s->identity_changed++;
      break;
    case KARS_MESH_EVENT_REJECTED:
      s->rejected++;
      s->rejected_status = kars_mesh_event_get_status(ev);
      break;
    default:
      break;
  }
  return 0;
}

static seen receive(kars_mesh_agent *agent) {
  seen s;
  kars_error *err = NULL;
  memset(&s, 0, sizeof s);
  if (kars_mesh_agent_receive(NULL, agent, 0, on_event, &s, &err) != KARS_OK) {
    fprintf(stderr, "receive: %s\n", kars_error_message(err));
    ++failures;
    kars_error_free(err);
  }
  return s;
}

static kars_mesh_agent *open_attached(fabric *f, const char *subdir, const char *name, int *freed) {
  char dir[300];
  kars_mesh_agent *agent = NULL;
  kars_error *err = NULL;
  endpoint *ep = calloc(1, sizeof *ep);
  ep->fab = f;
  ep->freed = freed;
  snprintf(ep->mailbox, sizeof ep->mailbox, "%s", name);
  snprintf(dir, sizeof dir, "%s/%s", workdir, subdir);
  if (kars_mesh_agent_open(&agent, dir, name, NULL, &err) != KARS_OK ||
      kars_mesh_agent_attach_transport(agent, &callbacks, ep, free_endpoint, &err) != KARS_OK) {
    fprintf(stderr, "open %s: %s\n", name, kars_error_message(err));
    exit(2);
  }
  return agent;
}

static int send_text(kars_mesh_agent *from, const char *to, const char *text) {
  kars_error *err = NULL;
  kars_status rc = kars_mesh_agent_send(NULL, from, to, (const uint8_t *)text, strlen(text), 0, &err);
  kars_error_free(err);
  return rc;
}

/* --- identity callback ---------------------------------------------------------------------- */

typedef struct {
  kars_mesh_identity_decision answer;
  int calls;
  uint8_t old_key[64], new_key[64];
  size_t old_len, new_len;
  size_t safety_digits;
  char peer[64];
} decider;

static int decide(kars_mesh_identity_decision *decision, const char *peer, const uint8_t *old_key,
                  size_t old_len, const uint8_t *new_key, size_t new_len, const char *safety,
                  void *userdata) {
  decider *d = userdata;
  d->calls++;
  snprintf(d->peer, sizeof d->peer, "%s", peer);
  d->old_len = old_len < sizeof d->old_key ? old_len : sizeof d->old_key;
  d->new_len = new_len < sizeof d->new_key ? new_len : sizeof d->new_key;
  memcpy(d->old_key, old_key, d->old_len);
  memcpy(d->new_key, new_key, d->new_len);
  d->safety_digits = strspn(safety, "0123456789");
  *decision = d->answer;
  return 0;
}

static int identity_is(kars_mesh_agent *agent, const uint8_t *key, size_t len) {
  kars_buf buf = {NULL, 0};
  int same;
  if (kars_mesh_agent_identity_key(&buf, agent, NULL) != KARS_OK) return 0;
  same = buf.len == len && memcmp(buf.data, key, len) == 0;
  kars_buf_dispose(&buf);
  return same;
}

int main(void) {
  fabric *f = calloc(1, sizeof *f);
  int freed = 0;
  kars_mesh_agent *alice, *bob, *bob2, *bob3, *lone = NULL;
  kars_error *err = NULL;
  seen s;
  decider d;
  mailbox *box;
  char cmd[300];

  snprintf(workdir, sizeof workdir, "/tmp/kars-capi-mesh-transport-XXXXXX");
  if (mkdtemp(workdir) == NULL) return 2;

  alice = open_attached(f, "alice", "alice", &freed);
  bob = open_attached(f, "bob", "bob", &freed);
  CHECK(find_box(f, "alice", 0)->n_prekeys > 0); /* keys were published through the callback */

  /* Alice to bob: the first message carries the handshake; only ciphertext reaches the host. */
  CHECK(send_text(alice, "bob", "hello bob, over the host's fabric") == KARS_OK);
  CHECK(f->fetches == 1 && f->sends == 1);
  box = find_box(f, "bob", 0);
  CHECK(box->n_envelopes == 1);
  CHECK(memmem(box->envelopes[0].data, box->envelopes[0].len, "hello bob", 9) == NULL);
  deliver(f, bob, "bob");
  s = receive(bob);
  CHECK(s.messages == 1 && strcmp(s.last_body, "hello bob, over the host's fabric") == 0);
  CHECK(f->acks == 1 && box->envelopes[0].data == NULL); /* acknowledged once durable */

  /* And back. */
  CHECK(send_text(bob, "alice", "hello alice") == KARS_OK);
  deliver(f, alice, "alice");
  s = receive(alice);
  CHECK(s.messages == 1 && strcmp(s.last_body, "hello alice") == 0);

  /* The host pushing an envelope again (e.g. after its own restart) is a duplicate. */
  CHECK(send_text(alice, "bob", "only once") == KARS_OK);
  {
    blob again = copy_blob(box->envelopes[box->n_envelopes - 1].data,
                           box->envelopes[box->n_envelopes - 1].len);
    deliver(f, bob, "bob");
    s = receive(bob);
    CHECK(s.messages == 1 && strcmp(s.last_body, "only once") == 0);
    CHECK(kars_mesh_agent_push(bob, 999, again.data, again.len, NULL) == KARS_OK);
    s = receive(bob);
    CHECK(s.messages == 0 && s.duplicates == 1);
    free(again.data);
  }

  /* Bad input. */
  CHECK(kars_mesh_agent_push(bob, 7, (const uint8_t *)"\xff\xff\xff", 3, &err) ==
        KARS_E_INVALID_ARGUMENT);
  kars_error_free(err);
  err = NULL;
  CHECK(send_text(alice, "nobody", "lost?") == KARS_E_NOT_FOUND);
  {
    kars_mesh_transport_callbacks no_send = callbacks;
    int local_freed = 0;
    endpoint *ep = calloc(1, sizeof *ep);
    char dir[300];
    ep->fab = f;
    ep->freed = &local_freed;
    no_send.send = NULL;
    snprintf(dir, sizeof dir, "%s/lone", workdir);
    CHECK(kars_mesh_agent_open(&lone, dir, "lone", NULL, NULL) == KARS_OK);
    CHECK(kars_mesh_agent_push(lone, 1, (const uint8_t *)"", 0, &err) == KARS_E_PRECONDITION);
    kars_error_free(err);
    err = NULL;
    CHECK(kars_mesh_agent_attach_transport(lone, &no_send, ep, free_endpoint, &err) ==
          KARS_E_INVALID_ARGUMENT);
    CHECK(local_freed == 1); /* released on failure */
    kars_error_free(err);
    err = NULL;
    kars_mesh_agent_free(lone);
  }

  /* Bob's identity changes (a fresh store under the same name). Alice's callback first defers:
   * the message is held, not delivered, not lost. */
  memset(&d, 0, sizeof d);
  d.answer = KARS_MESH_IDENTITY_DEFER;
  CHECK(kars_mesh_agent_set_identity_callback(alice, decide, &d, NULL, NULL) == KARS_OK);
  bob2 = open_attached(f, "bob2", "bob", &freed);
  CHECK(send_text(bob2, "alice", "new bob here") == KARS_OK);
  deliver(f, alice, "alice");
  s = receive(alice);
  CHECK(s.messages == 0 && s.identity_changed == 1);
  CHECK(d.calls == 1 && strcmp(d.peer, "bob") == 0 && d.safety_digits == 60);
  CHECK(identity_is(bob, d.old_key, d.old_len));
  CHECK(identity_is(bob2, d.new_key, d.new_len));
  CHECK(send_text(alice, "bob", "still blocked?") == KARS_E_DENIED); /* asked again: defers */
  CHECK(d.calls == 2);
  /* Now it approves: the held message is delivered by this same receive. */
  d.answer = KARS_MESH_IDENTITY_APPROVE;
  s = receive(alice);
  CHECK(s.messages == 1 && strcmp(s.last_body, "new bob here") == 0);
  CHECK(d.calls == 3);
  CHECK(send_text(alice, "bob", "welcome back") == KARS_OK);
  deliver(f, bob2, "bob");
  s = receive(bob2);
  CHECK(s.messages == 1 && strcmp(s.last_body, "welcome back") == 0);

  /* Another change, rejected: the message is dropped with a report, and the pinned key stays. */
  d.answer = KARS_MESH_IDENTITY_REJECT;
  bob3 = open_attached(f, "bob3", "bob", &freed);
  CHECK(send_text(bob3, "alice", "impostor") == KARS_OK);
  deliver(f, alice, "alice");
  s = receive(alice);
  CHECK(s.messages == 0 && s.identity_changed == 1 && s.rejected == 1);
  CHECK(s.rejected_status == KARS_E_DENIED);
  CHECK(d.calls == 4);
  CHECK(kars_mesh_agent_approve_identity(alice, "bob", &err) == KARS_E_NOT_FOUND);
  kars_error_free(err);
  err = NULL;
  s = receive(alice);
  CHECK(s.messages == 0 && s.rejected == 0); /* nothing comes back */

  CHECK(kars_mesh_agent_set_identity_callback(alice, NULL, NULL, NULL, NULL) == KARS_OK);

  kars_mesh_agent_free(alice);
  kars_mesh_agent_free(bob);
  kars_mesh_agent_free(bob2);
  kars_mesh_agent_free(bob3);
  CHECK(freed == 4); /* every transport's userdata released exactly once */
  free_fabric(f);
  free(f);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", workdir);
  return failures != 0;
}
