#include "raft/node/storage_writer.h"

#include <atomic>
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

std::vector<Entry> Entries(uint64_t first, uint64_t last) {
  std::vector<Entry> out;
  for (uint64_t i = first; i <= last; ++i) {
    out.push_back(Entry{Term(1), LogIndex(i), EntryType::kNormal, "e" + std::to_string(i)});
  }
  return out;
}

TEST(StorageWriterTest, ASnapshotIsWrittenInQueueOrderBetweenEntryWrites) {
  const std::string dir = TempDir("order");
  std::atomic<int> persisted{0};
  {
    auto storage = RocksStorage::Open(dir);
    ASSERT_TRUE(storage.ok()) << storage.status();
    StorageWriter writer(storage->get(), NodeId(1));
    writer.Enqueue(HardState{Term(1), NodeId(1), LogIndex(0)}, Entries(1, 5), [&] { ++persisted; });
    writer.Enqueue(std::nullopt, Entries(6, 8), [&] { ++persisted; });
    // The snapshot at 6 drops the log through 6; it must land after the
    // writes of 1..8 (or 7 and 8 would be dropped with them) and before 9..10.
    Snapshot snapshot{SnapshotMeta{LogIndex(6), Term(1), {}}, "state@6"};
    snapshot.meta.membership.voters = {NodeId(1)};
    writer.EnqueueSnapshot(snapshot, Entries(1, 6));
    writer.Enqueue(std::nullopt, Entries(9, 10), [&] { ++persisted; });
    writer.Drain();
    EXPECT_EQ(persisted.load(), 3);
  }
  auto storage = RocksStorage::Open(dir);
  ASSERT_TRUE(storage.ok()) << storage.status();
  auto state = (*storage)->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->snapshot.meta.index, LogIndex(6));
  EXPECT_EQ(state->snapshot.data, "state@6");
  ASSERT_EQ(state->entries.size(), 4u);
  EXPECT_EQ(state->entries.front().index, LogIndex(7));
  EXPECT_EQ(state->entries.back().index, LogIndex(10));
  EXPECT_EQ(state->entries.back().data, "e10");
}

}  // namespace
}  // namespace fjord::raft
