#include "raft/storage/rocks_storage.h"

#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"

namespace fjord::raft {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir = std::filesystem::path(base ? base : "/tmp") / name;
  std::filesystem::remove_all(dir);
  return dir.string();
}

std::vector<Entry> Entries(uint64_t first, uint64_t last, uint64_t term) {
  std::vector<Entry> out;
  for (uint64_t i = first; i <= last; ++i) {
    out.push_back(Entry{Term(term), LogIndex(i), EntryType::kNormal, "e" + std::to_string(i)});
  }
  return out;
}

TEST(RocksStorageTest, EmptyDatabaseLoadsAFreshState) {
  auto storage = RocksStorage::Open(TempDir("empty"));
  ASSERT_TRUE(storage.ok()) << storage.status();
  auto state = (*storage)->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->hard_state, HardState{});
  EXPECT_TRUE(state->entries.empty());
}

TEST(RocksStorageTest, ReadySurvivesReopenAndConflictingSuffixIsReplaced) {
  const std::string dir = TempDir("reopen");
  {
    auto storage = RocksStorage::Open(dir);
    ASSERT_TRUE(storage.ok());
    Ready rd;
    rd.hard_state = HardState{Term(2), NodeId(3), LogIndex(2)};
    rd.entries = Entries(1, 5, 2);
    rd.entries[2].type = EntryType::kConfig;
    rd.entries[2].data = "voters=1,2 learners=";
    ASSERT_TRUE((*storage)->SaveReady(rd).ok());
    // A new leader's entries from index 4 replace 4 and 5.
    Ready second;
    second.entries = Entries(4, 4, 3);
    ASSERT_TRUE((*storage)->SaveReady(second).ok());
    EXPECT_EQ((*storage)->synced_writes(), 2u);
  }
  auto storage = RocksStorage::Open(dir);
  ASSERT_TRUE(storage.ok());
  auto state = (*storage)->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->hard_state, (HardState{Term(2), NodeId(3), LogIndex(2)}));
  ASSERT_EQ(state->entries.size(), 4u);
  EXPECT_EQ(state->entries[2].type, EntryType::kConfig);
  EXPECT_EQ(state->entries[3], (Entry{Term(3), LogIndex(4), EntryType::kNormal, "e4"}));
}

TEST(RocksStorageTest, CompactionAndInstalledSnapshots) {
  auto storage = RocksStorage::Open(TempDir("snapshot"));
  ASSERT_TRUE(storage.ok());
  Ready rd;
  rd.entries = Entries(1, 6, 1);
  rd.hard_state = HardState{Term(1), NodeId(1), LogIndex(6)};
  ASSERT_TRUE((*storage)->SaveReady(rd).ok());
  Membership m{{NodeId(1), NodeId(2)}, {NodeId(5)}};
  ASSERT_TRUE((*storage)->SaveSnapshot({{LogIndex(4), Term(1), m}, "state@4"}).ok());
  auto state = (*storage)->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->snapshot.meta, (SnapshotMeta{LogIndex(4), Term(1), m}));
  EXPECT_EQ(state->snapshot.data, "state@4");
  ASSERT_EQ(state->entries.size(), 2u);
  EXPECT_EQ(state->entries[0].index, LogIndex(5));

  // A snapshot installed from the leader replaces everything.
  Ready install;
  install.snapshot = Snapshot{{LogIndex(20), Term(3), m}, "state@20"};
  install.hard_state = HardState{Term(3), kNoNode, LogIndex(20)};
  ASSERT_TRUE((*storage)->SaveReady(install).ok());
  state = (*storage)->Load();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->entries.empty());
  EXPECT_EQ(state->snapshot.meta.index, LogIndex(20));
  EXPECT_EQ(state->hard_state.commit, LogIndex(20));
}

TEST(RocksStorageTest, RestartedCoreSeesWhatWasSynced) {
  const std::string dir = TempDir("core");
  SeededRandom random(1);
  {
    auto storage = RocksStorage::Open(dir);
    ASSERT_TRUE(storage.ok());
    PersistedState fresh;
    fresh.snapshot.meta.membership.voters = {NodeId(1)};
    Raft raft(RaftConfig{.id = NodeId(1)}, fresh, &random);
    for (int i = 0; i < 40 && raft.role() != Role::kLeader; ++i) {
      raft.Tick();
      Ready rd = raft.GetReady();
      ASSERT_TRUE((*storage)->SaveReady(rd).ok());
      raft.Advance(rd);
    }
    ASSERT_TRUE(raft.Propose("kept").ok());
    // The leader commits its entry once persisted, so the commit index
    // reaches the disk with the Ready after the entry's.
    while (raft.HasReady()) {
      Ready rd = raft.GetReady();
      ASSERT_TRUE((*storage)->SaveReady(rd).ok());
      raft.Advance(rd);
    }
  }
  auto storage = RocksStorage::Open(dir);
  ASSERT_TRUE(storage.ok());
  auto state = (*storage)->Load();
  ASSERT_TRUE(state.ok());
  Raft raft(RaftConfig{.id = NodeId(1)}, *state, &random);
  EXPECT_EQ(raft.term(), Term(1));
  EXPECT_EQ(raft.vote(), NodeId(1));
  EXPECT_EQ(raft.log().last_index(), LogIndex(2));
  EXPECT_EQ(raft.log().At(LogIndex(2)).data, "kept");
  EXPECT_EQ(raft.log().committed(), LogIndex(2));
}

TEST(RocksStorageTest, OnlyACommitIndexChangeIsWrittenWithoutSync) {
  const std::string dir = TempDir("commit_only");
  auto storage = RocksStorage::Open(dir);
  ASSERT_TRUE(storage.ok());
  ASSERT_TRUE((*storage)->Load().ok());
  Ready vote{.hard_state = HardState{Term(2), NodeId(3), LogIndex(0)}};
  ASSERT_TRUE((*storage)->SaveReady(vote).ok());
  EXPECT_EQ((*storage)->synced_writes(), 1u) << "a vote must be synced";
  Ready append{.entries = {Entry{Term(2), LogIndex(1), EntryType::kNormal, "a"}}};
  ASSERT_TRUE((*storage)->SaveReady(append).ok());
  EXPECT_EQ((*storage)->synced_writes(), 2u) << "entries must be synced";
  Ready commit{.hard_state = HardState{Term(2), NodeId(3), LogIndex(1)}};
  ASSERT_TRUE((*storage)->SaveReady(commit).ok());
  EXPECT_EQ((*storage)->synced_writes(), 2u) << "a commit-only change needs no sync";
  Ready new_term{.hard_state = HardState{Term(3), kNoNode, LogIndex(1)}};
  ASSERT_TRUE((*storage)->SaveReady(new_term).ok());
  EXPECT_EQ((*storage)->synced_writes(), 3u) << "a new term must be synced";
  storage->reset();
  auto reopened = RocksStorage::Open(dir);
  ASSERT_TRUE(reopened.ok());
  auto state = (*reopened)->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->hard_state, (HardState{Term(3), kNoNode, LogIndex(1)}));
}

}  // namespace
}  // namespace fjord::raft
