// Signed notes, keys and checkpoints against the C2SP formats.
#include "gtest/gtest.h"
#include "libkars/audit/checkpoint.h"
#include "libkars/audit/encoding.h"
#include "libkars/audit/keys.h"
#include "libkars/audit/note.h"
#include "libkars/base/status.h"

namespace kars::audit {
namespace {

// The published example key pair and signed note of the signed-note format's reference
// implementation: an independent implementation's output, byte for byte.
constexpr char kVkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kSkey[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr char kText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kSignedNote[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(KeysTest, ParsesTheReferenceKeysAndRecomputesTheirHash) {
  auto v = Verifier::FromText(kVkey);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->name(), "PeterNeumann");
  EXPECT_EQ(v->key_hash(), 0xc74f20a3u);
  EXPECT_EQ(v->Text(), kVkey);
  auto s = Signer::FromText(kSkey);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->verifier().Text(), kVkey);
  EXPECT_EQ(s->Text(), kSkey);
}

TEST(NoteTest, SignsExactlyLikeTheReferenceImplementation) {
  auto s = Signer::FromText(kSkey);
  ASSERT_TRUE(s.ok());
  auto sig = SignNoteText(*s, kText);
  ASSERT_TRUE(sig.ok()) << sig.status();
  Note note{kText, {*sig}};
  EXPECT_EQ(FormatNote(note), kSignedNote);
}

TEST(NoteTest, VerifiesTheReferenceNote) {
  auto v = Verifier::FromText(kVkey);
  auto note = ParseNote(kSignedNote);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->text, kText);
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].key_hash, 0xc74f20a3u);
  EXPECT_TRUE(VerifyNote(*note, *v).ok());
  EXPECT_EQ(FormatNote(*note), kSignedNote);
}

TEST(NoteTest, ChangedTextIsTamperedAndAnotherKeyIsDenied) {
  auto v = Verifier::FromText(kVkey);
  std::string changed = kSignedNote;
  changed[3] = 'X';
  auto note = ParseNote(changed);
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(ToCStatus(VerifyNote(*note, *v)), KARS_E_TAMPERED);

  auto other = Signer::Generate("PeterNeumann");
  ASSERT_TRUE(other.ok());
  note = ParseNote(kSignedNote);
  // Same name, different key: the key hash differs, so the note has no signature by it.
  EXPECT_EQ(ToCStatus(VerifyNote(*note, other->verifier())), KARS_E_DENIED);
}

TEST(NoteTest, UnknownSignaturesAreIgnoredAndCosignaturesVerify) {
  auto a = Signer::Generate("log.example");
  auto b = Signer::Generate("witness.example");
  ASSERT_TRUE(a.ok() && b.ok());
  Note note{"hello\n", {}};
  note.signatures.push_back(*SignNoteText(*a, note.text));
  note.signatures.push_back(*SignNoteText(*b, note.text));
  auto parsed = ParseNote(FormatNote(note));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(VerifyNote(*parsed, a->verifier()).ok());
  EXPECT_TRUE(VerifyNote(*parsed, b->verifier()).ok());
}

TEST(NoteTest, MalformedNotesAreRejectedWithAReason) {
  const char* bad[] = {
      "no blank line\n\xE2\x80\x94 k AAAAAAAA\n",
      "text\n\n",                                      // no signatures
      "text\n\n\xE2\x80\x94 k AAAAAAAA",               // no final newline
      "text\n\n- k AAAAAAAA\n",                        // ASCII dash
      "text\n\n\xE2\x80\x94 kAAAAAAAA\n",              // no space after the name
      "text\n\n\xE2\x80\x94 k AAA\n",                  // bad base64
      "text\n\n\xE2\x80\x94 k AAAA\n",                 // only 3 bytes: no key hash + signature
      "te\rxt\n\n\xE2\x80\x94 k AAAAAAAA\n",           // control character
      "te\xC0\x80xt\n\n\xE2\x80\x94 k AAAAAAAA\n",     // overlong UTF-8
      "text\n\n\xE2\x80\x94 a+b AAAAAAAA\n",           // '+' in the key name
  };
  for (const char* b : bad) {
    auto note = ParseNote(b);
    EXPECT_EQ(note.status().code(), absl::StatusCode::kInvalidArgument) << b;
    EXPECT_FALSE(note.status().message().empty());
  }
}

TEST(KeysTest, MalformedKeysAreRejected) {
  EXPECT_FALSE(Verifier::FromText("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  EXPECT_FALSE(Verifier::FromText("PeterNeumann+c74f20a3+AhpjZQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  EXPECT_FALSE(Verifier::FromText(kSkey).ok());
  EXPECT_FALSE(Verifier::FromText("").ok());
  EXPECT_FALSE(Signer::FromText(kVkey).ok());
  EXPECT_FALSE(Signer::Generate("has space").ok());
  EXPECT_FALSE(Signer::Generate("").ok());
}

TEST(CheckpointTest, RoundTripsAndVerifies) {
  auto s = Signer::Generate("kars.test/log");
  ASSERT_TRUE(s.ok());
  Checkpoint cp{"kars.test/log", 12345, LeafHash("x"), {}};
  auto signed_note = SignCheckpoint(*s, cp);
  ASSERT_TRUE(signed_note.ok());
  // Layout: origin, size, base64 root, blank line, one signature line.
  EXPECT_EQ(signed_note->substr(0, signed_note->find("\n\n") + 2),
            "kars.test/log\n12345\n" + Base64Encode(AsBytes(cp.root)) + "\n\n");
  auto opened = OpenCheckpoint(*signed_note, s->verifier());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->size, 12345u);
  EXPECT_EQ(opened->root, cp.root);
  EXPECT_EQ(opened->origin, "kars.test/log");
}

TEST(CheckpointTest, MalformedBodiesAreRejected) {
  const char* bad[] = {"origin\n12\n", "\n12\nAAAA\n", "o\n012\n" "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
                       "o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "o\n1\nAAAA\n",
                       "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "o\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"};
  for (const char* b : bad) {
    EXPECT_EQ(ParseCheckpointText(b).status().code(), absl::StatusCode::kInvalidArgument) << b;
  }
  EXPECT_TRUE(ParseCheckpointText("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n").ok());
}

TEST(EncodingTest, Base64IsStrict) {
  EXPECT_EQ(*Base64Decode("aGk=", "t"), "hi");
  EXPECT_FALSE(Base64Decode("aGl=", "t").ok());  // unused bits set
  EXPECT_FALSE(Base64Decode("aGk", "t").ok());
  EXPECT_FALSE(Base64Decode("a=Gk", "t").ok());
  EXPECT_FALSE(Base64Decode("aG k", "t").ok());
  EXPECT_EQ(*Base64Decode("", "t"), "");
}

}  // namespace
}  // namespace kars::audit
