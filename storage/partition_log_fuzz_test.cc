// Operation fuzzer for PartitionLog (in the spirit of Redpanda's storage
// fuzzer): random append / read / roll / truncate / retention / flush /
// checkpoint / crash-and-reopen sequences against an in-memory model, on
// the fault-injecting file system, checking the log against the model after
// every operation.
//
//   partition_log_fuzz_test                  CI seed set
//   partition_log_fuzz_test --seed=N         replay one seed
//   partition_log_fuzz_test --seeds=5000 --ops=2000   soak (see :..._soak)
// FJORD_FUZZ_SEED=N works like --seed=N.
#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/fault_file_system.h"
#include "storage/partition_log.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

int64_t g_seed = -1;  // One seed to replay; -1: run the seed range.
int64_t g_seeds = 60;
int64_t g_ops = 400;

constexpr char kDir[] = "/fuzz/p";

class Fuzzer {
 public:
  explicit Fuzzer(uint64_t seed) : seed_(seed), rng_(seed) {
    config_.segment_bytes = 300 + rng_.Uniform(3000);
    config_.index_interval_bytes = rng_.Uniform(600);
    config_.segment_ms = absl::Minutes(1 + rng_.Uniform(60));
    config_.retention_bytes = rng_.OneIn(2) ? -1 : 1000 + rng_.Uniform(5000);
    config_.retention_ms = rng_.OneIn(2) ? -1 : 60'000 * (1 + rng_.Uniform(30));
    const FlushPolicy policies[] = {FlushPolicy::kAlways, FlushPolicy::kInterval,
                                    FlushPolicy::kNever};
    config_.flush_policy = policies[rng_.Uniform(3)];
    config_.flush_messages = 1 + rng_.Uniform(20);
    config_.flush_ms = 1000 * rng_.Uniform(60);
  }

  void Run(int64_t ops) {
    Reopen();
    for (int64_t i = 0; i < ops && !::testing::Test::HasFailure(); ++i) {
      op_ = i;
      Step();
      if (!::testing::Test::HasFailure()) CheckAgainstModel();
    }
  }

 private:
  std::string Where() const { return absl::StrCat("seed ", seed_, " op ", op_, ": "); }

  void Reopen() {
    log_.reset();
    auto log = PartitionLog::Open(fs_, clock_, kDir, config_);
    ASSERT_TRUE(log.ok()) << Where() << log.status();
    log_ = std::move(*log);
  }

  Offset ModelEnd() const {
    if (model_.empty()) return start_;
    return header(model_.rbegin()->second).next_offset();
  }
  static BatchHeader header(const std::string& batch) { return *ParseBatchHeader(batch); }

  void Step() {
    const uint64_t dice = rng_.Uniform(100);
    if (dice < 45) return Append();
    if (dice < 60) return ReadRandom();
    if (dice < 64) return Roll();
    if (dice < 70) return Truncate();
    if (dice < 76) return SetHighWatermark();
    if (dice < 80) return Retention();
    if (dice < 85) return FlushOrCheckpoint();
    if (dice < 89) return LookupTimestamp();
    if (dice < 92) return LookupEpoch();
    if (dice < 94) return CleanReopen();
    if (dice < 95) return InjectFault();
    if (dice < 97) {
      clock_.Advance(absl::Seconds(rng_.Uniform(600)));
      return;
    }
    return CrashAndReopen();
  }

  void Append() {
    if (rng_.OneIn(8)) ++epoch_;
    const int64_t ts = absl::ToUnixMillis(clock_.Wall()) - rng_.Uniform(3'600'000);
    std::string batch = testing::MakeBatch(1 + rng_.Uniform(8), ts,
                                           absl::StrCat("s", seed_, "o", op_), rng_.Uniform(300));
    auto r = log_->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(epoch_));
    ASSERT_TRUE(r.ok()) << Where() << r.status();
    ASSERT_EQ(r->first_offset, ModelEnd()) << Where();
    model_[r->first_offset.value()] = batch;
  }

  void ReadRandom() {
    const Offset end = ModelEnd();
    const Offset at = start_ + static_cast<int64_t>(rng_.Uniform(end - start_ + 1));
    const size_t max_bytes = rng_.Uniform(2000);
    auto got = log_->Read(at, max_bytes);
    ASSERT_TRUE(got.ok()) << Where() << got.status();
    if (at == end) {
      ASSERT_TRUE(got->empty()) << Where();
      return;
    }
    auto it = std::prev(model_.upper_bound(at.value()));  // Batch containing `at`.
    BatchIterator batches(*got);
    size_t n = 0;
    while (batches.Next()) {
      ASSERT_NE(it, model_.end()) << Where() << "read past the model";
      ASSERT_EQ(batches.batch(), it->second) << Where() << "batch " << it->first << " differs";
      ++it;
      ++n;
    }
    ASSERT_TRUE(batches.status().ok()) << Where();
    ASSERT_GE(n, 1u) << Where() << "read returned no batch at " << at.value();
    ASSERT_TRUE(n == 1 || got->size() <= max_bytes) << Where() << "exceeded max_bytes";
    if (log_->Read(end + 1, 1).status().code() != absl::StatusCode::kOutOfRange) {
      ADD_FAILURE() << Where() << "read past the end not OutOfRange";
    }
  }

  void Roll() { ASSERT_TRUE(log_->Roll().ok()) << Where(); }

  void Truncate() {
    const Offset end = ModelEnd();
    const Offset to = start_ + static_cast<int64_t>(rng_.Uniform(end - start_ + 1));
    Offset expect = to;
    if (to < end) {
      auto it = std::prev(model_.upper_bound(to.value()));
      expect = Offset(it->first);
      model_.erase(it, model_.end());
    }
    auto got = log_->TruncateTo(to);
    ASSERT_TRUE(got.ok()) << Where() << got.status();
    ASSERT_EQ(*got, expect) << Where() << "truncate to " << to.value();
    hw_ = std::min(hw_, expect);
  }

  void SetHighWatermark() {
    hw_ = start_ + static_cast<int64_t>(rng_.Uniform(ModelEnd() - start_ + 1));
    ASSERT_TRUE(log_->SetHighWatermark(hw_).ok()) << Where();
  }

  void Retention() {
    auto deleted = log_->ApplyRetention();
    ASSERT_TRUE(deleted.ok()) << Where() << deleted.status();
    const Offset new_start = log_->log_start_offset();
    ASSERT_GE(new_start, start_) << Where();
    ASSERT_LE(new_start, hw_) << Where() << "retention deleted data above the high watermark";
    ASSERT_TRUE(new_start == ModelEnd() || model_.count(new_start.value()))
        << Where() << "log start " << new_start.value() << " not on a batch boundary";
    ASSERT_EQ(*deleted > 0, new_start > start_) << Where();
    model_.erase(model_.begin(), model_.lower_bound(new_start.value()));
    start_ = new_start;
  }

  void FlushOrCheckpoint() {
    if (rng_.OneIn(2)) {
      auto f = log_->Flush();
      ASSERT_TRUE(f.ok()) << Where() << f.status();
      ASSERT_EQ(*f, ModelEnd()) << Where();
    } else if (rng_.OneIn(2)) {
      ASSERT_TRUE(log_->MaybeFlush().ok()) << Where();
    } else {
      ASSERT_TRUE(log_->Checkpoint().ok()) << Where();
    }
  }

  void LookupTimestamp() {
    const int64_t ts = absl::ToUnixMillis(clock_.Wall()) - rng_.Uniform(4'000'000);
    std::optional<Offset> want;
    for (const auto& [base, batch] : model_) {
      if (header(batch).max_timestamp >= ts) {
        want = Offset(base);
        break;
      }
    }
    auto got = log_->OffsetForTimestamp(ts);
    ASSERT_TRUE(got.ok()) << Where() << got.status();
    ASSERT_EQ(*got, want) << Where() << "timestamp " << ts;
  }

  void LookupEpoch() {
    // Epoch history as the model's batches tell it.
    std::vector<std::pair<LeaderEpoch, Offset>> entries;
    for (const auto& [base, batch] : model_) {
      const LeaderEpoch e = header(batch).partition_leader_epoch;
      if (entries.empty() || e > entries.back().first) entries.emplace_back(e, Offset(base));
    }
    if (!entries.empty()) entries[0].second = std::max(entries[0].second, start_);
    const LeaderEpoch asked(static_cast<int32_t>(rng_.Uniform(epoch_ + 2)));
    std::pair<LeaderEpoch, Offset> want{kNoLeaderEpoch, kInvalidOffset};
    for (size_t i = 0; i < entries.size() && entries[i].first <= asked; ++i) {
      want = {entries[i].first, i + 1 < entries.size() ? entries[i + 1].second : ModelEnd()};
    }
    const auto got = log_->EndOffsetForEpoch(asked);
    // The log may know an epoch whose only batches were deleted by
    // retention or which starts exactly at the end; compare where the
    // model has an opinion.
    if (!entries.empty() && asked >= entries[0].first) {
      ASSERT_EQ(got, want) << Where() << "epoch " << asked.value();
    }
  }

  // ENOSPC on a write or EIO on an fsync: the operation fails, the log is
  // failed for good, and after a restart (with or without a crash) every
  // flushed batch is still there and no batch is half there.
  void InjectFault() {
    const bool disk_full = rng_.OneIn(2);
    std::string batch = testing::MakeBatch(1 + rng_.Uniform(4), absl::ToUnixMillis(clock_.Wall()),
                                           absl::StrCat("f", op_), rng_.Uniform(300));
    if (disk_full) {
      fs_.SetWriteBudget(rng_.Uniform(batch.size() + 40));
    } else {
      fs_.SetSyncFailure(true);
    }
    auto r = log_->AppendAsLeader(absl::MakeSpan(batch), LeaderEpoch(epoch_));
    absl::Status flushed = log_->Flush().status();
    fs_.ClearWriteBudget();
    fs_.SetSyncFailure(false);
    // The batch was stamped in place; it may have reached the file even if
    // the append failed, so the model allows it as an unflushed tail.
    if (r.ok() || ParseBatchHeader(batch)->base_offset == ModelEnd()) {
      model_[ModelEnd().value()] = batch;
    }
    if (r.ok() && flushed.ok()) return;  // The fault missed (budget sufficed).
    ASSERT_FALSE(log_->health().ok())
        << Where() << "log still healthy after an I/O error: " << r.status() << " / " << flushed;
    std::string another = testing::MakeBatch(1, 0);
    ASSERT_FALSE(log_->AppendAsLeader(absl::MakeSpan(another), LeaderEpoch(epoch_)).ok())
        << Where() << "failed log accepted an append";
    if (rng_.OneIn(2)) return CrashAndReopen();
    // A process restart without a crash: what is in the page cache stays.
    const Offset flushed_offset = log_->flushed_offset();
    log_.reset();
    Reopen();
    if (::testing::Test::HasFailure()) return;
    CheckRecovered(flushed_offset);
  }

  void CheckRecovered(Offset flushed) {
    const Offset end = log_->log_end_offset();
    ASSERT_GE(end, flushed) << Where() << "lost flushed data";
    ASSERT_LE(end, ModelEnd()) << Where() << "log grew";
    ASSERT_TRUE(end == start_ || model_.count(end.value()) || end == ModelEnd())
        << Where() << "part of a batch survived: end " << end.value();
    model_.erase(model_.lower_bound(end.value()), model_.end());
    hw_ = log_->high_watermark();
    ASSERT_LE(hw_, end) << Where();
  }

  void CleanReopen() {
    ASSERT_TRUE(log_->Close().ok()) << Where();
    Reopen();
    ASSERT_EQ(log_->high_watermark(), hw_) << Where();
  }

  void CrashAndReopen() {
    const Offset flushed = log_->flushed_offset();
    log_.reset();
    fs_.SimulateCrash(&rng_);
    Reopen();
    if (::testing::Test::HasFailure()) return;
    CheckRecovered(flushed);
  }

  void CheckAgainstModel() {
    ASSERT_EQ(log_->log_end_offset(), ModelEnd()) << Where();
    ASSERT_EQ(log_->log_start_offset(), start_) << Where();
    ASSERT_LE(log_->flushed_offset(), ModelEnd()) << Where();
    ASSERT_TRUE(log_->health().ok()) << Where();
  }

  const uint64_t seed_;
  SeededRandom rng_;
  FaultFileSystem fs_;
  ManualClock clock_;
  LogConfig config_;
  std::unique_ptr<PartitionLog> log_;
  std::map<int64_t, std::string> model_;  // Base offset -> batch bytes.
  Offset start_{0};
  Offset hw_{0};
  int32_t epoch_ = 0;
  int64_t op_ = 0;
};

TEST(PartitionLogFuzzTest, RandomOperationsMatchTheModel) {
  const int64_t first = g_seed >= 0 ? g_seed : 1;
  const int64_t last = g_seed >= 0 ? g_seed : g_seeds;
  for (int64_t seed = first; seed <= last; ++seed) {
    Fuzzer(seed).Run(g_ops);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "fuzzer failed; replay with --seed=" << seed << " --ops=" << g_ops;
      return;
    }
  }
}

}  // namespace
}  // namespace fjord::storage

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (const char* env = std::getenv("FJORD_FUZZ_SEED")) {
    (void)absl::SimpleAtoi(env, &fjord::storage::g_seed);
  }
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    int64_t* target = nullptr;
    absl::string_view value;
    for (auto [flag, var] : {std::pair{"--seed=", &fjord::storage::g_seed},
                             std::pair{"--seeds=", &fjord::storage::g_seeds},
                             std::pair{"--ops=", &fjord::storage::g_ops}}) {
      if (absl::StartsWith(arg, flag)) {
        target = var;
        value = arg.substr(std::string_view(flag).size());
      }
    }
    if (target == nullptr || !absl::SimpleAtoi(value, target)) {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  return RUN_ALL_TESTS();
}
