#include "raft/transport/convert.h"

#include "gtest/gtest.h"

namespace fjord::raft {
namespace {

Message RoundTrip(const Message& m) {
  v1::RaftMessage wire;
  ToProto(m, &wire);
  std::string bytes;
  EXPECT_TRUE(wire.SerializeToString(&bytes));
  v1::RaftMessage parsed;
  EXPECT_TRUE(parsed.ParseFromString(bytes));
  absl::StatusOr<Message> back = FromProto(parsed);
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *back : Message{};
}

TEST(ConvertTest, EveryMessageTypeRoundTrips) {
  const Membership m{{NodeId(0), NodeId(1), NodeId(2)}, {NodeId(7)}};
  const std::vector<Message> messages = {
      {.type = MessageType::kAppend,
       .from = NodeId(1),
       .to = NodeId(2),
       .term = Term(5),
       .index = LogIndex(9),
       .log_term = Term(4),
       .entries = {Entry{Term(5), LogIndex(10), EntryType::kLeaderChange, ""},
                   Entry{Term(5), LogIndex(11), EntryType::kNormal, std::string("a\0b", 3)},
                   Entry{Term(5), LogIndex(12), EntryType::kConfig, m.Encode()}},
       .commit = LogIndex(8)},
      {.type = MessageType::kAppendResponse, .term = Term(5), .index = LogIndex(12)},
      {.type = MessageType::kAppendResponse,
       .term = Term(5),
       .index = LogIndex(9),
       .reject = true,
       .reject_hint = LogIndex(3)},
      {.type = MessageType::kHeartbeat, .term = Term(5), .commit = LogIndex(8), .context = 42},
      {.type = MessageType::kHeartbeatResponse,
       .term = Term(5),
       .index = LogIndex(7),
       .context = 42},
      {.type = MessageType::kVote,
       .term = Term(6),
       .index = LogIndex(12),
       .log_term = Term(5),
       .transfer = true},
      {.type = MessageType::kPreVote, .term = Term(6), .index = LogIndex(12), .log_term = Term(5)},
      {.type = MessageType::kVoteResponse, .term = Term(6), .reject = true},
      {.type = MessageType::kPreVoteResponse, .term = Term(6)},
      {.type = MessageType::kSnapshot,
       .term = Term(6),
       .snapshot = SnapshotMeta{LogIndex(100), Term(5), m},
       .chunk_offset = 1024,
       .chunk = "bytes",
       .chunk_last = true},
      {.type = MessageType::kSnapshotResponse,
       .term = Term(6),
       .reject = true,
       .snapshot = SnapshotMeta{LogIndex(100), Term(5), m},
       .chunk_offset = 2048},
      {.type = MessageType::kTimeoutNow, .from = NodeId(0), .to = NodeId(2), .term = Term(6)},
  };
  for (const Message& m : messages) {
    Message back = RoundTrip(m);
    EXPECT_EQ(Describe(back), Describe(m));
    EXPECT_EQ(back.entries, m.entries);
    EXPECT_EQ(back.snapshot, m.snapshot);
    EXPECT_EQ(back.chunk, m.chunk);
    EXPECT_EQ(back.reject_hint, m.reject_hint);
    EXPECT_EQ(back.transfer, m.transfer);
  }
}

TEST(ConvertTest, RejectsMalformedInput) {
  v1::RaftMessage empty;
  EXPECT_FALSE(FromProto(empty).ok());
  v1::RaftMessage gap;
  auto* a = gap.mutable_append_entries_request();
  a->set_prev_log_index(3);
  a->add_entries()->set_index(5);  // Should be 4.
  a->mutable_entries(0)->set_term(1);
  EXPECT_FALSE(FromProto(gap).ok());
  v1::RaftMessage unsorted;
  auto* conf =
      unsorted.mutable_install_snapshot_request()->mutable_metadata()->mutable_conf_state();
  conf->add_voters(3);
  conf->add_voters(1);
  EXPECT_FALSE(FromProto(unsorted).ok());
}

}  // namespace
}  // namespace fjord::raft
