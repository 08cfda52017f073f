#include "libkars/mesh/local_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "libkars/base/status.h"

namespace kars::mesh {
namespace {

std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kars-mesh-store-XXXXXX").string();
  return mkdtemp(tmpl.data());
}

TEST(LocalStore, PersistsAcrossReopen) {
  std::string dir = TempDir();
  {
    auto s = LocalStore::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->Put(Ns::kSession, "bob", "record").ok());
    ASSERT_TRUE((*s)->Put(Ns::kSession, "carol", "x").ok());
    ASSERT_TRUE(*(*s)->Delete(Ns::kSession, "carol"));
    StoreTxn txn(**s);
    ASSERT_TRUE((*s)->Put(Ns::kInbox, "1", "a").ok());
    ASSERT_TRUE((*s)->Put(Ns::kInbox, "2", "b").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  auto s = LocalStore::Open(dir);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Get(Ns::kSession, "bob").value_or(""), "record");
  EXPECT_FALSE((*s)->Contains(Ns::kSession, "carol"));
  EXPECT_EQ((*s)->Count(Ns::kInbox), 2u);
  std::filesystem::remove_all(dir);
}

TEST(LocalStore, SecondOpenerFailsClearly) {
  std::string dir = TempDir();
  auto first = LocalStore::Open(dir);
  ASSERT_TRUE(first.ok());
  // Another process: flock conflicts across open file descriptions, in-process too.
  pid_t pid = fork();
  if (pid == 0) {
    auto second = LocalStore::Open(dir);
    _exit(!second.ok() && ToCStatus(second.status()) == KARS_E_PRECONDITION ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto again = LocalStore::Open(dir);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(ToCStatus(again.status()), KARS_E_PRECONDITION);
  EXPECT_NE(again.status().message().find("in use"), absl::string_view::npos);
  first->reset();
  EXPECT_TRUE(LocalStore::Open(dir).ok());
  std::filesystem::remove_all(dir);
}

TEST(LocalStore, UncommittedTransactionIsNotVisibleAfterCrash) {
  std::string dir = TempDir();
  pid_t pid = fork();
  if (pid == 0) {
    auto s = LocalStore::Open(dir);
    if (!s.ok()) _exit(2);
    (void)(*s)->Put(Ns::kMeta, "committed", "1");
    (void)(*s)->Begin();
    (void)(*s)->Put(Ns::kMeta, "uncommitted", "1");
    _exit(0);  // no commit, no destructor: a crash mid-transaction
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto s = LocalStore::Open(dir);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->Contains(Ns::kMeta, "committed"));
  EXPECT_FALSE((*s)->Contains(Ns::kMeta, "uncommitted"));
  std::filesystem::remove_all(dir);
}

// Every byte of every file in `dir` (database, WAL, journal, lock).
std::string ReadAll(const std::string& dir) {
  std::string all;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    FILE* fp = std::fopen(f.path().c_str(), "rb");
    if (fp == nullptr) continue;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, fp)) > 0) all.append(buf, n);
    std::fclose(fp);
  }
  return all;
}

TEST(LocalStore, MessageNamespacesAreSealedAtRest) {
  std::string dir = TempDir();
  {
    auto s = LocalStore::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    for (Ns ns : {Ns::kInbox, Ns::kSent, Ns::kOutbox}) {
      ASSERT_TRUE((*s)->Put(ns, "k", "CANARY-sealed-body").ok());
    }
    ASSERT_TRUE((*s)->Put(Ns::kSession, "bob", "CANARY-visible-record").ok());
    ASSERT_TRUE((*s)->Put(Ns::kInbox, "gone", "CANARY-deleted-body").ok());
    ASSERT_TRUE(*(*s)->Delete(Ns::kInbox, "gone"));
    // While open (data in the WAL) and after close (checkpointed into the database).
    std::string live = ReadAll(dir);
    EXPECT_NE(live.find("CANARY-visible-record"), std::string::npos);  // the scan works
    EXPECT_EQ(live.find("CANARY-sealed"), std::string::npos);
    EXPECT_EQ(live.find("CANARY-deleted"), std::string::npos);
  }
  std::string closed = ReadAll(dir);
  EXPECT_EQ(closed.find("CANARY-sealed"), std::string::npos);
  auto s = LocalStore::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  for (Ns ns : {Ns::kInbox, Ns::kSent, Ns::kOutbox}) {
    EXPECT_EQ((*s)->Get(ns, "k").value_or(""), "CANARY-sealed-body");
  }
  s->reset();
  std::filesystem::remove_all(dir);
}

TEST(LocalStore, AlteredOrMovedSealedValueIsTampered) {
  std::string dir = TempDir();
  {
    auto s = LocalStore::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->Put(Ns::kInbox, "1", "first").ok());
    ASSERT_TRUE((*s)->Put(Ns::kInbox, "2", "second").ok());
  }
  // Swap the two sealed values directly in the database: each is bound to its own slot.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir + "/agent.db").c_str(), &db), SQLITE_OK);
  const std::string swap =
      "UPDATE kv SET v = (SELECT v FROM kv WHERE ns = 7 AND k = CAST('2' AS BLOB)) "
      "WHERE ns = 7 AND k = CAST('1' AS BLOB)";
  ASSERT_EQ(sqlite3_exec(db, swap.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_changes(db), 1);
  sqlite3_close(db);
  auto s = LocalStore::Open(dir);
  EXPECT_EQ(ToCStatus(s.status()), KARS_E_TAMPERED) << s.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kars::mesh
