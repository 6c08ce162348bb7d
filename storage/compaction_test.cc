// Log compaction (PartitionLog::Compact) against a model: the latest record
// per key survives, offsets and order never change, every survivor reads
// back at its offset, tombstones go only after delete.retention.ms, and a
// crash at any step of the swap leaves a log that reopens as either the old
// or the cleaned one.
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/random.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/partition_log.h"
#include "storage/record_batch_builder.h"

namespace fjord::storage {
namespace {

constexpr char kDir[] = "/data/compacted-0";
constexpr int64_t kDeleteRetentionMs = 1000;

struct Rec {
  int64_t offset = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  bool transactional = false;
  bool control = false;
  friend bool operator==(const Rec&, const Rec&) = default;
};

std::string Describe(const Rec& r) {
  return absl::StrCat(r.offset, " ", r.key.value_or("<null>"), "=", r.value.value_or("<null>"),
                      r.transactional ? " txn" : "", r.control ? " control" : "");
}

// What compaction must leave: Kafka's semantics restated over the appended
// records.
class Model {
 public:
  void Append(Rec r) { recs_.push_back(std::move(r)); }
  const std::vector<Rec>& all() const { return recs_; }

  // A Compact at `now_ms` that cleaned everything below `cleaned_up_to`.
  void Compacted(Offset cleaned_up_to, int64_t now_ms) {
    const int64_t c = cleaned_up_to.value();
    std::map<std::string, int64_t> latest;
    for (const Rec& r : recs_) {
      if (r.offset < c && r.key && !r.control) latest[*r.key] = r.offset;
    }
    for (const Rec& r : recs_) {
      if (r.offset >= c || r.control || removed_.count(r.offset)) continue;
      if (!r.key || latest[*r.key] != r.offset) {
        removed_.insert({r.offset, 0});
      } else if (!r.value) {
        auto [it, first] = first_cleaned_ms_.try_emplace(r.offset, now_ms);
        if (!first && now_ms >= it->second + kDeleteRetentionMs) removed_.insert({r.offset, 0});
      }
    }
  }

  std::vector<Rec> Expected() const {
    std::vector<Rec> out;
    for (const Rec& r : recs_) {
      if (!removed_.count(r.offset)) out.push_back(r);
    }
    return out;
  }
  // Records a crash-interrupted compaction must still hold: those the
  // finished one keeps.
  bool MustSurvive(int64_t offset) const { return !removed_.count(offset); }

 private:
  std::vector<Rec> recs_;
  std::map<int64_t, int> removed_;
  std::map<int64_t, int64_t> first_cleaned_ms_;
};

// Every record in the log, in log order, with the flags of its batch.
absl::StatusOr<std::vector<Rec>> ReadAll(const PartitionLog& log) {
  std::vector<Rec> out;
  Offset at = log.log_start_offset();
  const Offset end = log.log_end_offset();
  while (at < end) {
    absl::StatusOr<std::string> bytes = log.Read(at, 16 << 10);
    if (!bytes.ok()) return bytes.status();
    // Compaction may have emptied everything from here to an empty active
    // segment: nothing to read (Kafka's fetch answers empty there too).
    if (bytes->empty()) break;
    BatchIterator it(*bytes);
    while (it.Next()) {
      absl::StatusOr<DecodedBatch> d = DecodedBatch::Decode(it.batch(), BatchLimits{});
      if (!d.ok()) return d.status();
      const BatchHeader& h = d->header();
      if (h.base_offset < at) {
        return absl::InternalError(
            absl::StrCat("batch at ", h.base_offset.value(), " read for offset ", at.value()));
      }
      for (const Record& r : d->records()) {
        Rec rec{.offset = (h.base_offset + r.offset_delta).value(),
                .transactional = h.is_transactional(),
                .control = h.is_control()};
        if (r.key) rec.key = std::string(*r.key);
        if (r.value) rec.value = std::string(*r.value);
        out.push_back(std::move(rec));
      }
      at = h.next_offset();
    }
    if (!it.status().ok()) return it.status();
  }
  return out;
}

void ExpectLogIs(const PartitionLog& log, const std::vector<Rec>& want, const std::string& where) {
  absl::StatusOr<std::vector<Rec>> got = ReadAll(log);
  ASSERT_TRUE(got.ok()) << where << ": " << got.status();
  size_t i = 0;
  for (; i < got->size() && i < want.size(); ++i) {
    ASSERT_EQ((*got)[i], want[i]) << where << ": record " << i << " is " << Describe((*got)[i])
                                  << ", want " << Describe(want[i]);
  }
  ASSERT_EQ(got->size(), want.size())
      << where << ": next extra/missing "
      << (i < got->size() ? Describe((*got)[i]) : Describe(want[i]));
  // Every survivor is fetchable at its own offset.
  for (const Rec& r : want) {
    absl::StatusOr<std::string> bytes = log.Read(Offset(r.offset), 1);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    BatchIterator it(*bytes);
    ASSERT_TRUE(it.Next()) << where << ": nothing read at " << r.offset;
    EXPECT_LE(it.header().base_offset.value(), r.offset) << where;
    EXPECT_GE(it.header().last_offset().value(), r.offset) << where;
  }
}

const Compression kCodecs[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                               Compression::kLz4, Compression::kZstd};

// Appends one random batch (keys k0..k{keys-1}, ~10% tombstones, ~3%
// keyless, some transactional, an occasional control batch) to both.
void AppendRandom(PartitionLog& log, Model& model, Random& rng, int64_t now_ms, int keys) {
  BatchOptions options;
  options.compression = kCodecs[rng.Uniform(5)];
  options.transactional = rng.OneIn(8);
  options.control = options.transactional && rng.OneIn(4);
  RecordBatchBuilder b(options);
  const int n = options.control ? 1 : 1 + static_cast<int>(rng.Uniform(6));
  const int64_t base = log.log_end_offset().value();
  std::vector<Rec> recs;
  for (int i = 0; i < n; ++i) {
    Rec r{.offset = base + i, .transactional = options.transactional, .control = options.control};
    if (options.control) {
      r.key = std::string("\0\0\0\1", 4);
      r.value = std::string("\0\0\0\0\0\0", 6);
    } else {
      if (!rng.OneIn(30)) r.key = absl::StrCat("k", rng.Uniform(keys));
      if (!rng.OneIn(10))
        r.value = absl::StrCat("v", base + i, "-", std::string(rng.Uniform(40), 'x'));
    }
    b.Append(now_ms, r.key, r.value);
    recs.push_back(std::move(r));
  }
  std::string batch = *b.Build();
  absl::StatusOr<AppendResult> a = log.AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->first_offset.value(), base);
  for (Rec& r : recs) model.Append(std::move(r));
}

LogConfig SmallSegments() {
  LogConfig c;
  c.segment_bytes = 1200;
  c.index_interval_bytes = 200;
  c.flush_policy = FlushPolicy::kNever;
  return c;
}

CompactionConfig Cleaner() {
  CompactionConfig c;
  c.delete_retention_ms = kDeleteRetentionMs;
  c.segment_bytes = 5000;
  return c;
}

class CompactionModelTest : public ::testing::TestWithParam<int> {};

TEST_P(CompactionModelTest, LatestPerKeySurvivesAtUnchangedOffsets) {
  const uint64_t seed = GetParam();
  SeededRandom rng(seed);
  FaultFileSystem fs;
  ManualClock clock;
  auto log = *PartitionLog::Open(fs, clock, kDir, SmallSegments());
  Model model;
  size_t most_segments = 0;
  for (int step = 0; step < 400; ++step) {
    const int64_t now = absl::ToUnixMillis(clock.Wall());
    const uint64_t op = rng.Uniform(100);
    if (op < 85) {
      AppendRandom(*log, model, rng, now, 25);
      if (HasFatalFailure()) return;
    } else if (op < 90) {
      ASSERT_TRUE(log->Roll().ok());
    } else {
      ASSERT_TRUE(log->SetHighWatermark(log->log_end_offset()).ok());
      absl::StatusOr<CompactionStats> s = log->Compact(Cleaner());
      ASSERT_TRUE(s.ok()) << "seed " << seed << ": " << s.status();
      model.Compacted(s->cleaned_up_to, now);
      ExpectLogIs(*log, model.Expected(), absl::StrCat("seed ", seed, " step ", step));
      if (HasFatalFailure()) return;
    }
    most_segments = std::max(most_segments, log->segment_count());
    clock.Advance(absl::Milliseconds(rng.Uniform(120)));
  }
  // Everything but the active segment cleaned, twice past the horizon: no
  // tombstone below the cleaned offset survives.
  ASSERT_TRUE(log->Roll().ok());
  ASSERT_TRUE(log->SetHighWatermark(log->log_end_offset()).ok());
  for (int round = 0; round < 3; ++round) {
    absl::StatusOr<CompactionStats> s = log->Compact(Cleaner());
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->cleaned_up_to, log->log_end_offset());
    model.Compacted(s->cleaned_up_to, absl::ToUnixMillis(clock.Wall()));
    clock.Advance(absl::Milliseconds(kDeleteRetentionMs));
  }
  const std::vector<Rec> want = model.Expected();
  for (const Rec& r : want) {
    EXPECT_TRUE(r.control || (r.key.has_value() && r.value.has_value())) << Describe(r);
  }
  ExpectLogIs(*log, want, absl::StrCat("seed ", seed, " final"));
  // Grouping keeps the segment count down (5000-byte groups of 1200).
  EXPECT_LT(log->segment_count(), std::max<size_t>(most_segments, 4)) << "seed " << seed;

  // Reopening reads the cleaned segments (gaps and all) the same way.
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  auto reopened = PartitionLog::Open(fs, clock, kDir, SmallSegments());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ExpectLogIs(**reopened, want, absl::StrCat("seed ", seed, " reopened"));
}

INSTANTIATE_TEST_SUITE_P(Seeds, CompactionModelTest, ::testing::Range(1, 13));

TEST(CompactionTest, TombstoneStaysUntilDeleteRetentionPassed) {
  FaultFileSystem fs;
  ManualClock clock;
  auto log = *PartitionLog::Open(fs, clock, kDir, SmallSegments());
  auto append = [&](std::optional<std::string> key, std::optional<std::string> value) {
    RecordBatchBuilder b;
    b.Append(absl::ToUnixMillis(clock.Wall()), key, value);
    std::string batch = *b.Build();
    ASSERT_TRUE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
  };
  append("a", "1");
  append("b", "1");
  append("a", std::nullopt);  // offset 2: tombstone for a
  ASSERT_TRUE(log->Roll().ok());
  append("c", "1");
  ASSERT_TRUE(log->SetHighWatermark(log->log_end_offset()).ok());

  auto keys = [&] {
    std::vector<int64_t> offsets;
    const std::vector<Rec> recs = *ReadAll(*log);
    for (const Rec& r : recs) offsets.push_back(r.offset);
    return offsets;
  };
  ASSERT_TRUE(log->Compact(Cleaner()).ok());
  EXPECT_EQ(keys(), (std::vector<int64_t>{1, 2, 3}));  // a=1 superseded, tombstone stays.
  clock.Advance(absl::Milliseconds(kDeleteRetentionMs - 1));
  absl::StatusOr<CleanableState> state = log->GetCleanableState(Cleaner());
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->tombstones_due);
  ASSERT_TRUE(log->Compact(Cleaner()).ok());
  EXPECT_EQ(keys(), (std::vector<int64_t>{1, 2, 3}));
  clock.Advance(absl::Milliseconds(1));
  state = log->GetCleanableState(Cleaner());
  EXPECT_TRUE(state->tombstones_due);
  absl::StatusOr<CompactionStats> s = log->Compact(Cleaner());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->tombstones_dropped, 1);
  EXPECT_EQ(keys(), (std::vector<int64_t>{1, 3}));
  // Reading from the removed offsets lands on the next survivor.
  auto bytes = log->Read(Offset(0), 1);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(ParseBatchHeader(*bytes)->base_offset, Offset(1));
  bytes = log->Read(Offset(2), 1);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(ParseBatchHeader(*bytes)->base_offset, Offset(3));
  EXPECT_EQ(log->log_start_offset(), Offset(0));
  EXPECT_EQ(log->log_end_offset(), Offset(4));
}

TEST(CompactionTest, OnlyClosedSegmentsBelowHighWatermarkAndLag) {
  FaultFileSystem fs;
  ManualClock clock;
  auto log = *PartitionLog::Open(fs, clock, kDir, SmallSegments());
  auto append = [&](const std::string& key) {
    RecordBatchBuilder b;
    b.Append(absl::ToUnixMillis(clock.Wall()), key, "value");
    std::string batch = *b.Build();
    ASSERT_TRUE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
  };
  for (int seg = 0; seg < 3; ++seg) {
    append("k");
    append("k");
    ASSERT_TRUE(log->Roll().ok());
  }
  append("k");  // active segment at 6
  // High watermark inside the second segment: only the first is cleanable.
  ASSERT_TRUE(log->SetHighWatermark(Offset(3)).ok());
  absl::StatusOr<CleanableState> state = log->GetCleanableState(Cleaner());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->first_uncleanable, Offset(2));
  EXPECT_EQ(state->dirty_bytes, state->dirty_bytes + state->clean_bytes);
  EXPECT_DOUBLE_EQ(state->dirty_ratio(), 1.0);
  absl::StatusOr<CompactionStats> s = log->Compact(Cleaner());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->cleaned_up_to, Offset(2));
  auto offsets_now = [&] {
    std::vector<int64_t> offsets;
    const std::vector<Rec> recs = *ReadAll(*log);
    for (const Rec& r : recs) offsets.push_back(r.offset);
    return offsets;
  };
  std::vector<int64_t> offsets = offsets_now();
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  state = log->GetCleanableState(Cleaner());
  EXPECT_EQ(state->dirty_bytes, 0);
  EXPECT_GT(state->clean_bytes, 0);

  // min.compaction.lag.ms: segments with records younger than the lag wait.
  ASSERT_TRUE(log->SetHighWatermark(log->log_end_offset()).ok());
  CompactionConfig lagged = Cleaner();
  lagged.min_compaction_lag_ms = 60'000;
  s = log->Compact(lagged);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->cleaned_up_to, Offset(2));
  clock.Advance(absl::Minutes(2));
  s = log->Compact(lagged);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->cleaned_up_to, Offset(6));
  offsets = offsets_now();
  // The active segment's record is never touched, even though it is newer.
  EXPECT_EQ(offsets, (std::vector<int64_t>{5, 6}));
}

// A FileSystem that dies after `budget` mutating operations: every later
// one fails, as if the process had stopped there. Then the test crashes
// the FaultFileSystem underneath and reopens.
class DyingFileSystem final : public FileSystem {
 public:
  explicit DyingFileSystem(FaultFileSystem& inner) : inner_(inner) {}
  void DieAfter(int64_t ops) { budget_ = ops; }
  bool died() const { return died_; }

  absl::Status Step() {
    if (budget_ < 0) return absl::OkStatus();
    if (budget_ == 0) {
      died_ = true;
      return absl::InternalError("process died here");
    }
    --budget_;
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    if (mode != OpenMode::kExisting) RETURN_IF_ERROR(Step());
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, inner_.Open(path, mode));
    return std::unique_ptr<File>(new DyingFile(*this, std::move(f)));
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    RETURN_IF_ERROR(Step());
    return inner_.Rename(from, to);
  }
  absl::Status Unlink(const std::string& path) override {
    RETURN_IF_ERROR(Step());
    return inner_.Unlink(path);
  }
  absl::StatusOr<std::vector<std::string>> List(const std::string& dir) override {
    return inner_.List(dir);
  }
  absl::Status SyncDir(const std::string& dir) override {
    RETURN_IF_ERROR(Step());
    return inner_.SyncDir(dir);
  }
  absl::Status CreateDir(const std::string& dir) override { return inner_.CreateDir(dir); }

 private:
  class DyingFile final : public File {
   public:
    DyingFile(DyingFileSystem& fs, std::unique_ptr<File> f) : fs_(fs), f_(std::move(f)) {}
    absl::Status Append(std::string_view data) override {
      RETURN_IF_ERROR(fs_.Step());
      return f_->Append(data);
    }
    absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* out) const override {
      return f_->ReadAt(offset, n, out);
    }
    absl::Status Truncate(uint64_t size) override {
      RETURN_IF_ERROR(fs_.Step());
      return f_->Truncate(size);
    }
    absl::Status Sync() override {
      RETURN_IF_ERROR(fs_.Step());
      return f_->Sync();
    }
    uint64_t Size() const override { return f_->Size(); }

   private:
    DyingFileSystem& fs_;
    std::unique_ptr<File> f_;
  };

  FaultFileSystem& inner_;
  int64_t budget_ = -1;
  bool died_ = false;
};

// The same log every time: keyed records over several segments.
void BuildLog(PartitionLog& log, Model& model, const Clock& clock) {
  SeededRandom rng(77);
  for (int i = 0; i < 60; ++i) {
    AppendRandom(log, model, rng, absl::ToUnixMillis(clock.Wall()), 8);
    if (i % 9 == 8) {
      ASSERT_TRUE(log.Roll().ok());
    }
  }
  ASSERT_TRUE(log.Roll().ok());
  ASSERT_TRUE(log.SetHighWatermark(log.log_end_offset()).ok());
  ASSERT_TRUE(log.Flush().ok());
  ASSERT_TRUE(log.Checkpoint().ok());
}

TEST(CompactionCrashTest, CrashAtEveryStepOfCleanAndSwapRecovers) {
  bool finished = false;
  int64_t ops = 0;
  for (; !finished && ops < 2000; ++ops) {
    FaultFileSystem inner;
    DyingFileSystem fs(inner);
    ManualClock clock;
    Model model;
    CompactionConfig cleaner = Cleaner();
    cleaner.segment_bytes = 2500;  // several groups, so several swaps
    {
      auto log = *PartitionLog::Open(fs, clock, kDir, SmallSegments());
      BuildLog(*log, model, clock);
      if (HasFatalFailure()) return;
      fs.DieAfter(ops);
      absl::StatusOr<CompactionStats> s = log->Compact(cleaner);
      finished = !fs.died();
      if (finished) {
        ASSERT_TRUE(s.ok()) << s.status();
        EXPECT_GT(s->segments_before, s->segments_after);
      }
    }
    SeededRandom torn(static_cast<uint64_t>(ops));
    inner.SimulateCrash(ops % 2 == 0 ? &torn : nullptr);
    const std::string where = absl::StrCat("crash after ", ops, " operations");
    auto log = PartitionLog::Open(inner, clock, kDir, SmallSegments());
    ASSERT_TRUE(log.ok()) << where << ": " << log.status();
    const std::vector<std::string> names = *inner.List(kDir);
    for (const std::string& name : names) {
      EXPECT_FALSE(absl::EndsWith(name, ".cleaned") || absl::EndsWith(name, ".swap"))
          << where << ": " << name << " left behind";
    }
    // Old or cleaned, record by record: nothing invented, nothing the
    // cleaner keeps lost, offsets as appended.
    model.Compacted(Offset(model.all().back().offset + 1), absl::ToUnixMillis(clock.Wall()));
    absl::StatusOr<std::vector<Rec>> got = ReadAll(**log);
    ASSERT_TRUE(got.ok()) << where << ": " << got.status();
    std::map<int64_t, Rec> original;
    for (const Rec& r : model.all()) original[r.offset] = r;
    std::map<int64_t, bool> seen;
    int64_t last = -1;
    for (const Rec& r : *got) {
      ASSERT_GT(r.offset, last) << where;
      last = r.offset;
      ASSERT_TRUE(original.count(r.offset)) << where << ": invented " << Describe(r);
      ASSERT_EQ(r, original[r.offset]) << where;
      seen[r.offset] = true;
    }
    for (const Rec& r : model.all()) {
      if (model.MustSurvive(r.offset)) {
        EXPECT_TRUE(seen.count(r.offset)) << where << ": lost " << Describe(r);
      }
    }
    // And the next cleaning finishes the job.
    ASSERT_TRUE((*log)->SetHighWatermark((*log)->log_end_offset()).ok());
    absl::StatusOr<CompactionStats> again = (*log)->Compact(cleaner);
    ASSERT_TRUE(again.ok()) << where << ": " << again.status();
    if (again->cleaned_up_to.value() == model.all().back().offset + 1) {
      ExpectLogIs(**log, model.Expected(), where + ", cleaned again");
    }
    if (HasFatalFailure()) return;
  }
  EXPECT_TRUE(finished) << "compaction never finished within " << ops << " operations";
  EXPECT_GT(ops, 10);
}

TEST(CompactionTest, ReadersAndAppendersDuringCompactionSeeAConsistentLog) {
  FaultFileSystem fs;
  ManualClock clock;
  auto log = *PartitionLog::Open(fs, clock, kDir, SmallSegments());
  Model model;
  SeededRandom rng(5);
  for (int i = 0; i < 300; ++i) {
    AppendRandom(*log, model, rng, 0, 30);
    if (HasFatalFailure()) return;
  }
  const int64_t end = log->log_end_offset().value();
  ASSERT_TRUE(log->Roll().ok());
  ASSERT_TRUE(log->SetHighWatermark(log->log_end_offset()).ok());
  std::map<int64_t, Rec> original;
  for (const Rec& r : model.all()) original[r.offset] = r;
  Model after = model;
  after.Compacted(Offset(end), 0);

  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      absl::StatusOr<std::vector<Rec>> got = ReadAll(*log);
      ASSERT_TRUE(got.ok()) << got.status();
      std::map<int64_t, bool> seen;
      for (const Rec& r : *got) {
        if (r.offset >= end) continue;
        ASSERT_EQ(r, original[r.offset]);
        seen[r.offset] = true;
      }
      for (const Rec& r : model.all()) {
        if (after.MustSurvive(r.offset)) {
          ASSERT_TRUE(seen.count(r.offset)) << Describe(r);
        }
      }
      reads.fetch_add(1);
    }
  });
  std::thread appender([&] {
    for (int i = 0; i < 200; ++i) {
      RecordBatchBuilder b;
      b.Append(0, "late", "value");
      std::string batch = *b.Build();
      ASSERT_TRUE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
    }
  });
  absl::StatusOr<CompactionStats> s = log->Compact(Cleaner());
  appender.join();
  // Bounded: a failed reader stops counting.
  for (int i = 0; i < 10'000 && reads.load() < 2; ++i) absl::SleepFor(absl::Milliseconds(1));
  done.store(true);
  reader.join();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->cleaned_up_to.value(), end);
}

TEST(CompactionTest, FollowerAcceptsGapsAndTruncationInAGap) {
  FaultFileSystem fs;
  ManualClock clock;
  auto leader = *PartitionLog::Open(fs, clock, "/leader", SmallSegments());
  for (int i = 0; i < 6; ++i) {
    RecordBatchBuilder b;
    b.Append(0, i % 2 == 0 ? "even" : "odd", absl::StrCat(i));
    std::string batch = *b.Build();
    ASSERT_TRUE(leader->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
    if (i == 3) {
      ASSERT_TRUE(leader->Roll().ok());
    }
  }
  ASSERT_TRUE(leader->SetHighWatermark(leader->log_end_offset()).ok());
  ASSERT_TRUE(leader->Compact(Cleaner()).ok());  // keeps 2 and 3 of the first segment
  auto follower = *PartitionLog::Open(fs, clock, "/follower", SmallSegments());
  Offset at(0);
  while (at < leader->log_end_offset()) {
    std::string bytes = *leader->Read(at, 1 << 20);
    ASSERT_FALSE(bytes.empty());
    absl::StatusOr<AppendResult> r = follower->AppendAsFollower(bytes);
    ASSERT_TRUE(r.ok()) << r.status();
    at = r->last_offset + 1;
  }
  EXPECT_EQ(follower->log_end_offset(), Offset(6));
  absl::StatusOr<std::vector<Rec>> got = ReadAll(*follower);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ((*got)[0].offset, 2);
  // Going backwards is still refused.
  RecordBatchBuilder b({.base_offset = Offset(3)});
  b.Append(0, "x", "y");
  EXPECT_FALSE(follower->AppendAsFollower(*b.Build()).ok());
  // The leader truncates into the gap after its cleaned first segment.
  ASSERT_TRUE(leader->SetHighWatermark(Offset(4)).ok());
  absl::StatusOr<Offset> end = leader->TruncateTo(Offset(4));
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(*end, Offset(4));
}

TEST(RetentionTest, PerCallLimitsDeleteWholeClosedSegmentsAndAdvanceStart) {
  FaultFileSystem fs;
  ManualClock clock;
  auto log = *PartitionLog::Open(fs, clock, kDir, SmallSegments());
  for (int seg = 0; seg < 4; ++seg) {
    RecordBatchBuilder b;
    b.Append(absl::ToUnixMillis(clock.Wall()), "k", std::string(100, 'v'));
    std::string batch = *b.Build();
    ASSERT_TRUE(log->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(1)).ok());
    ASSERT_TRUE(log->Roll().ok());
    clock.Advance(absl::Hours(1));
  }
  ASSERT_TRUE(log->SetHighWatermark(log->log_end_offset()).ok());
  // retention.ms of 2.5 h: the two segments older than that go.
  absl::StatusOr<int> deleted =
      log->ApplyRetention({.retention_ms = 150 * 60 * 1000, .retention_bytes = -1});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(log->log_start_offset(), Offset(2));
  // retention.bytes 0: every closed segment goes (the active one stays).
  deleted = log->ApplyRetention({.retention_ms = -1, .retention_bytes = 0});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(log->log_start_offset(), Offset(4));
  EXPECT_EQ(log->segment_count(), 1u);
}

}  // namespace
}  // namespace fjord::storage
