#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/posix_file_system.h"

namespace fjord::storage {
namespace {

// The same contract, checked against both implementations.
class FileSystemContractTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      fs_ = &fault_;
      dir_ = "/log";
    } else {
      fs_ = &PosixFileSystem::Get();
      char tmpl[] = "/tmp/fjord_fs_test_XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
    }
  }
  std::string Path(const std::string& name) { return absl::StrCat(dir_, "/", name); }

  FaultFileSystem fault_;
  FileSystem* fs_ = nullptr;
  std::string dir_;
};

TEST_P(FileSystemContractTest, AppendReadTruncate) {
  auto f = fs_->Open(Path("a"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Append("hello ").ok());
  ASSERT_TRUE((*f)->Append("world").ok());
  EXPECT_EQ((*f)->Size(), 11u);
  char buf[16];
  auto n = (*f)->ReadAt(6, 16, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "world");
  ASSERT_TRUE((*f)->Truncate(5).ok());
  EXPECT_EQ((*f)->Size(), 5u);
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(*ReadWholeFile(*fs_, Path("a")), "hello");
}

TEST_P(FileSystemContractTest, OpenModes) {
  EXPECT_EQ(fs_->Open(Path("missing"), OpenMode::kExisting).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE((*fs_->Open(Path("b"), OpenMode::kCreate))->Append("xyz").ok());
  EXPECT_EQ((*fs_->Open(Path("b"), OpenMode::kCreate))->Size(), 3u);
  EXPECT_EQ((*fs_->Open(Path("b"), OpenMode::kCreateTruncate))->Size(), 0u);
}

TEST_P(FileSystemContractTest, ListRenameUnlinkAndAtomicWrite) {
  ASSERT_TRUE(WriteFileAtomically(*fs_, dir_, "cp", "one").ok());
  ASSERT_TRUE(WriteFileAtomically(*fs_, dir_, "cp", "two").ok());
  EXPECT_EQ(*ReadWholeFile(*fs_, Path("cp")), "two");
  ASSERT_TRUE(fs_->Rename(Path("cp"), Path("cp2")).ok());
  auto names = fs_->List(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"cp2"});
  ASSERT_TRUE(fs_->Unlink(Path("cp2")).ok());
  EXPECT_TRUE(fs_->List(dir_)->empty());
  EXPECT_EQ(fs_->Unlink(Path("cp2")).code(), absl::StatusCode::kNotFound);
}

// A removed replica's directory goes with its files, nothing left aside.
TEST_P(FileSystemContractTest, RemoveAllDeletesADirectoryAndItsFiles) {
  const std::string part = Path("t-0");
  ASSERT_TRUE(fs_->CreateDir(part).ok());
  ASSERT_TRUE(WriteFileAtomically(*fs_, part, "00000000000000000000.log", "data").ok());
  ASSERT_TRUE(WriteFileAtomically(*fs_, part, "leader-epoch-checkpoint", "0").ok());
  ASSERT_TRUE(WriteFileAtomically(*fs_, dir_, "keep", "x").ok());
  ASSERT_TRUE(fs_->RemoveAll(part).ok());
  if (!GetParam()) {
    EXPECT_FALSE(fs_->List(part).ok()) << "the partition's name is free at once";
    PosixFileSystem::Get().deleter().WaitIdle();  // It deletes the files in the background.
  }
  EXPECT_EQ(*fs_->List(dir_), std::vector<std::string>{"keep"});
  EXPECT_TRUE(fs_->RemoveAll(part).ok()) << "already gone is fine";
  EXPECT_EQ(*ReadWholeFile(*fs_, Path("keep")), "x");
}

INSTANTIATE_TEST_SUITE_P(Both, FileSystemContractTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Fault" : "Posix"; });

TEST(FaultFileSystemTest, CrashLosesUnsyncedBytesAndEntries) {
  FaultFileSystem fs;
  auto synced = *fs.Open("/d/synced", OpenMode::kCreate);
  ASSERT_TRUE(synced->Append("durable").ok());
  ASSERT_TRUE(synced->Sync().ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE(synced->Append(" lost").ok());
  auto unlisted = *fs.Open("/d/unlisted", OpenMode::kCreate);
  ASSERT_TRUE(unlisted->Append("data").ok());
  ASSERT_TRUE(unlisted->Sync().ok());  // Data synced, entry not.

  fs.SimulateCrash();
  EXPECT_EQ(*fs.Contents("/d/synced"), "durable");
  EXPECT_EQ(fs.Contents("/d/unlisted").status().code(), absl::StatusCode::kNotFound);
  // Old handles are detached.
  ASSERT_TRUE(synced->Append("ghost").ok());
  EXPECT_EQ(*fs.Contents("/d/synced"), "durable");
}

TEST(FaultFileSystemTest, TornCrashKeepsAPrefixOfUnsyncedBytes) {
  FaultFileSystem fs;
  auto f = *fs.Open("/d/f", OpenMode::kCreate);
  ASSERT_TRUE(f->Append("abc").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE(f->Append("defghijklmnop").ok());
  SeededRandom rng(3);
  fs.SimulateCrash(&rng);
  const std::string after = *fs.Contents("/d/f");
  EXPECT_EQ(std::string("abcdefghijklmnop").substr(0, after.size()), after);
  EXPECT_GE(after.size(), 3u);
}

TEST(FaultFileSystemTest, UnsyncedRenameReverts) {
  FaultFileSystem fs;
  ASSERT_TRUE((*fs.Open("/d/a", OpenMode::kCreate))->Sync().ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE(fs.Rename("/d/a", "/d/b").ok());
  fs.SimulateCrash();
  EXPECT_EQ(*fs.List("/d"), std::vector<std::string>{"a"});
}

TEST(FaultFileSystemTest, EnospcWritesWhatFitsThenFails) {
  FaultFileSystem fs;
  auto f = *fs.Open("/d/f", OpenMode::kCreate);
  fs.SetWriteBudget(4);
  absl::Status s = f->Append("123456");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*fs.Contents("/d/f"), "1234");
  fs.ClearWriteBudget();
  EXPECT_TRUE(f->Append("5").ok());
}

TEST(FaultFileSystemTest, SyncFailureIsEioAndCounted) {
  FaultFileSystem fs;
  auto f = *fs.Open("/d/f", OpenMode::kCreate);
  EXPECT_TRUE(f->Sync().ok());
  fs.SetSyncFailure(true);
  EXPECT_EQ(f->Sync().code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(fs.SyncDir("/d").ok());
  EXPECT_EQ(fs.sync_count(), 2);
  EXPECT_EQ(fs.dir_sync_count(), 1);
}

}  // namespace
}  // namespace fjord::storage
