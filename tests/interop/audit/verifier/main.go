// Command interop checks what a kars audit log hands to outsiders with independent
// implementations of the formats it claims: golang.org/x/mod/sumdb/note (C2SP signed notes,
// Ed25519 verifier keys), golang.org/x/mod/sumdb/tlog (RFC 6962 tree hashes, record and tree
// proofs), and transparency-dev/formats (C2SP tlog-cosignature cosignature/v1, tlog-proof).
// Every check also has a negative twin, so a verifier that accepted anything would fail.
//
// Usage: interop DIR   (DIR as written by make_log)
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	tnote "github.com/transparency-dev/formats/note"
	tproof "github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	records   = 37
	earlySize = 21
)

var (
	dir    string
	checks int
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "interop: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func read(name string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		fail("%v", err)
	}
	return b
}

func pass() { checks++ }

// A C2SP tlog-checkpoint body: origin, decimal size, base64 root.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func parseCheckpoint(text string) checkpoint {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		fail("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var cp checkpoint
	cp.origin, cp.size = lines[0], size
	copy(cp.root[:], root)
	return cp
}

func hashes(raw []byte) []tlog.Hash {
	if len(raw)%tlog.HashSize != 0 {
		fail("audit path of %d bytes", len(raw))
	}
	out := make([]tlog.Hash, len(raw)/tlog.HashSize)
	for i := range out {
		copy(out[i][:], raw[i*tlog.HashSize:])
	}
	return out
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: interop DIR")
		os.Exit(2)
	}
	dir = os.Args[1]

	// Keys: x/mod parses the log's vkey (type 0x01) and checks its key hash, which must be
	// SHA-256(name || "\n" || 0x01 || key)[:4] as C2SP signed-note defines it.
	logVkey := strings.TrimSpace(string(read("log.vkey")))
	logVerifier, err := note.NewVerifier(logVkey)
	if err != nil {
		fail("x/mod/sumdb/note rejects the log's verifier key %q: %v", logVkey, err)
	}
	parts := strings.SplitN(logVkey, "+", 3)
	key, _ := base64.StdEncoding.DecodeString(parts[2])
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), key...))
	if key[0] != 0x01 || parts[1] != hex.EncodeToString(sum[:4]) {
		fail("log key type %#x / key hash %s, want 0x01 / %x", key[0], parts[1], sum[:4])
	}
	pass()
	witnessVkey := strings.TrimSpace(string(read("witness.vkey")))
	witnessVerifier, err := tnote.NewVerifierForCosignatureV1(witnessVkey)
	if err != nil {
		fail("transparency-dev rejects the witness key %q: %v", witnessVkey, err)
	}
	wparts := strings.SplitN(witnessVkey, "+", 3)
	wkey, _ := base64.StdEncoding.DecodeString(wparts[2])
	if wkey[0] != 0x04 || wparts[1] != fmt.Sprintf("%08x", witnessVerifier.KeyHash()) {
		fail("witness key type %#x / key ID %s, want 0x04 / %08x", wkey[0], wparts[1],
			witnessVerifier.KeyHash())
	}
	pass()

	// Checkpoints: signed notes that x/mod opens with the log's key, and only with it.
	open := func(name string, verifiers ...note.Verifier) (*note.Note, checkpoint) {
		n, err := note.Open(read(name), note.VerifierList(verifiers...))
		if err != nil {
			fail("x/mod/sumdb/note cannot open %s: %v", name, err)
		}
		return n, parseCheckpoint(n.Text)
	}
	_, early := open("checkpoint-early", logVerifier)
	_, final := open("checkpoint-final", logVerifier)
	if early.size != earlySize || final.size != records || early.origin != final.origin {
		fail("checkpoints %+v %+v", early, final)
	}
	pass()
	otherSigner, otherVkey, _ := note.GenerateKey(nil, "kars.interop/log")
	_ = otherSigner
	otherVerifier, _ := note.NewVerifier(otherVkey)
	if _, err := note.Open(read("checkpoint-final"), note.VerifierList(otherVerifier)); err == nil {
		fail("a checkpoint opened with another key")
	}
	altered := bytes.Replace(read("checkpoint-final"), []byte(fmt.Sprintf("\n%d\n", records)),
		[]byte(fmt.Sprintf("\n%d\n", records+1)), 1)
	if _, err := note.Open(altered, note.VerifierList(logVerifier)); err == nil {
		fail("an altered checkpoint verified")
	}
	pass()

	// The witness's cosignature/v1 line, as transparency-dev verifies it, beside the log's.
	cosigned, cosignedCp := open("checkpoint-final-cosigned", logVerifier, witnessVerifier)
	if len(cosigned.Sigs) != 2 || cosignedCp != final {
		fail("co-signed checkpoint carries %d verified signatures", len(cosigned.Sigs))
	}
	var when time.Time
	for _, s := range cosigned.Sigs {
		if s.Name == witnessVerifier.Name() {
			if when, err = tnote.CoSigV1Timestamp(s); err != nil {
				fail("cosignature timestamp: %v", err)
			}
			raw, _ := base64.StdEncoding.DecodeString(s.Base64)
			if len(raw) != 4+8+64 || binary.BigEndian.Uint32(raw) != witnessVerifier.KeyHash() {
				fail("cosignature payload of %d bytes", len(raw))
			}
		}
	}
	if time.Since(when) > time.Hour || time.Until(when) > time.Minute {
		fail("cosignature time %v", when)
	}
	cosignedAltered := bytes.Replace(read("checkpoint-final-cosigned"),
		[]byte(base64.StdEncoding.EncodeToString(final.root[:])),
		[]byte(base64.StdEncoding.EncodeToString(early.root[:])), 1)
	if _, err := note.Open(cosignedAltered, note.VerifierList(witnessVerifier)); err == nil {
		fail("a cosignature verified over another root")
	}
	pass()

	// Records: x/mod's own RFC 6962 tree over the stored bytes gives the signed roots.
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	data := make([][]byte, records)
	roots := make([]tlog.Hash, records+1)
	for i := int64(0); i < records; i++ {
		data[i] = read(fmt.Sprintf("record-%d", i))
		h, err := tlog.StoredHashes(i, data[i], reader)
		if err != nil {
			fail("stored hashes: %v", err)
		}
		stored = append(stored, h...)
		if roots[i+1], err = tlog.TreeHash(i+1, reader); err != nil {
			fail("tree hash: %v", err)
		}
	}
	if roots[earlySize] != early.root || roots[records] != final.root {
		fail("x/mod's tree hash of the records differs from the signed roots")
	}
	pass()

	// Inclusion: bare audit paths and C2SP tlog-proofs, checked by x/mod's CheckRecord.
	for i := int64(0); i < records; i++ {
		leaf := tlog.RecordHash(data[i])
		wrong := tlog.RecordHash(append([]byte("x"), data[i]...))
		for _, size := range []int64{earlySize, records} {
			if i >= size {
				continue
			}
			path := tlog.RecordProof(hashes(read(fmt.Sprintf("inclusion-%d-%d", i, size))))
			if err := tlog.CheckRecord(path, size, roots[size], i, leaf); err != nil {
				fail("x/mod rejects the audit path of record %d in tree %d: %v", i, size, err)
			}
			if tlog.CheckRecord(path, size, roots[size], i, wrong) == nil {
				fail("x/mod accepted a changed record %d", i)
			}
			pass()
		}
		var p tproof.TLogProof
		raw := read(fmt.Sprintf("tlog-proof-%d", i))
		if err := p.Unmarshal(raw); err != nil {
			fail("transparency-dev cannot parse tlog-proof %d: %v", i, err)
		}
		if !bytes.Equal(p.Marshal(), raw) {
			fail("tlog-proof %d does not re-encode to itself:\n%s\n%s", i, raw, p.Marshal())
		}
		n, err := note.Open(p.Checkpoint, note.VerifierList(logVerifier))
		if err != nil || int64(p.Index) != i {
			fail("tlog-proof %d: index %d, checkpoint: %v", i, p.Index, err)
		}
		cp := parseCheckpoint(n.Text)
		proofHashes := make(tlog.RecordProof, len(p.Hashes))
		for k, h := range p.Hashes {
			proofHashes[k] = tlog.Hash(h)
		}
		if err := tlog.CheckRecord(proofHashes, cp.size, cp.root, i, leaf); err != nil {
			fail("x/mod rejects tlog-proof %d: %v", i, err)
		}
		pass()
	}

	// Consistency: every size into the final tree, checked by x/mod's CheckTree.
	for size := int64(1); size <= records; size++ {
		path := tlog.TreeProof(hashes(read(fmt.Sprintf("consistency-%d-%d", size, records))))
		if err := tlog.CheckTree(path, records, roots[records], size, roots[size]); err != nil {
			fail("x/mod rejects the consistency path %d -> %d: %v", size, records, err)
		}
		if size < records && tlog.CheckTree(path, records, roots[records], size, roots[size-1]) == nil {
			fail("x/mod accepted a consistency path from a wrong root")
		}
		pass()
	}
	fmt.Printf("interop: %d checks passed (x/mod/sumdb/note, x/mod/sumdb/tlog, transparency-dev/formats)\n", checks)
}
