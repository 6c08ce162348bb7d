#include "raft/transport/convert.h"

namespace fjord::raft {
namespace {

void MetaToProto(const SnapshotMeta& meta, v1::SnapshotMetadata* out) {
  out->set_index(meta.index.value());
  out->set_term(meta.term.value());
  for (NodeId id : meta.membership.voters) out->mutable_conf_state()->add_voters(id.value());
  for (NodeId id : meta.membership.learners) out->mutable_conf_state()->add_observers(id.value());
}

absl::StatusOr<SnapshotMeta> MetaFromProto(const v1::SnapshotMetadata& in) {
  SnapshotMeta meta{LogIndex(in.index()), Term(in.term()), {}};
  for (int32_t id : in.conf_state().voters()) meta.membership.voters.push_back(NodeId(id));
  for (int32_t id : in.conf_state().observers()) meta.membership.learners.push_back(NodeId(id));
  // Round-trip through the text form to validate order and disjointness.
  if (!Membership::Decode(meta.membership.Encode())) {
    return absl::InvalidArgumentError("snapshot membership not sorted or not disjoint");
  }
  return meta;
}

}  // namespace

void ToProto(const Message& m, v1::RaftMessage* out) {
  out->set_from(m.from.value());
  out->set_to(m.to.value());
  out->set_term(m.term.value());
  switch (m.type) {
    case MessageType::kAppend: {
      auto* a = out->mutable_append_entries_request();
      a->set_prev_log_index(m.index.value());
      a->set_prev_log_term(m.log_term.value());
      a->set_leader_commit(m.commit.value());
      for (const Entry& e : m.entries) {
        v1::LogEntry* pe = a->add_entries();
        pe->set_term(e.term.value());
        pe->set_index(e.index.value());
        pe->set_type(static_cast<v1::LogEntry::EntryType>(e.type));
        pe->set_data(e.data);
      }
      break;
    }
    case MessageType::kHeartbeat: {
      auto* a = out->mutable_append_entries_request();
      a->set_heartbeat(true);
      a->set_leader_commit(m.commit.value());
      a->set_read_context(m.context);
      break;
    }
    case MessageType::kAppendResponse: {
      auto* r = out->mutable_append_entries_response();
      r->set_reject(m.reject);
      r->set_index(m.index.value());
      r->set_reject_hint(m.reject_hint.value());
      break;
    }
    case MessageType::kHeartbeatResponse: {
      auto* r = out->mutable_append_entries_response();
      r->set_heartbeat(true);
      r->set_index(m.index.value());
      r->set_read_context(m.context);
      break;
    }
    case MessageType::kVote:
    case MessageType::kPreVote: {
      auto* v = out->mutable_vote_request();
      v->set_pre_vote(m.type == MessageType::kPreVote);
      v->set_last_log_index(m.index.value());
      v->set_last_log_term(m.log_term.value());
      v->set_leadership_transfer(m.transfer);
      break;
    }
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse: {
      auto* v = out->mutable_vote_response();
      v->set_pre_vote(m.type == MessageType::kPreVoteResponse);
      v->set_vote_granted(!m.reject);
      break;
    }
    case MessageType::kSnapshot: {
      auto* s = out->mutable_install_snapshot_request();
      MetaToProto(m.snapshot, s->mutable_metadata());
      s->set_offset(m.chunk_offset);
      s->set_data(m.chunk);
      s->set_done(m.chunk_last);
      break;
    }
    case MessageType::kSnapshotResponse: {
      auto* s = out->mutable_install_snapshot_response();
      s->set_reject(m.reject);
      MetaToProto(m.snapshot, s->mutable_metadata());
      s->set_received_bytes(m.chunk_offset);
      break;
    }
    case MessageType::kTimeoutNow:
      out->mutable_timeout_now();
      break;
  }
}

absl::StatusOr<Message> FromProto(const v1::RaftMessage& in) {
  Message m;
  m.from = NodeId(in.from());
  m.to = NodeId(in.to());
  m.term = Term(in.term());
  switch (in.body_case()) {
    case v1::RaftMessage::kAppendEntriesRequest: {
      const auto& a = in.append_entries_request();
      m.commit = LogIndex(a.leader_commit());
      if (a.heartbeat()) {
        m.type = MessageType::kHeartbeat;
        m.context = a.read_context();
        break;
      }
      m.type = MessageType::kAppend;
      m.index = LogIndex(a.prev_log_index());
      m.log_term = Term(a.prev_log_term());
      LogIndex expect = m.index + 1;
      for (const v1::LogEntry& pe : a.entries()) {
        if (pe.index() != expect.value() || pe.term() == 0 ||
            pe.type() > v1::LogEntry::CONFIG_CHANGE || pe.type() < 0) {
          return absl::InvalidArgumentError("append entries not consecutive or malformed");
        }
        m.entries.push_back(Entry{Term(pe.term()), LogIndex(pe.index()),
                                  static_cast<EntryType>(pe.type()), pe.data()});
        ++expect;
      }
      break;
    }
    case v1::RaftMessage::kAppendEntriesResponse: {
      const auto& r = in.append_entries_response();
      m.type = r.heartbeat() ? MessageType::kHeartbeatResponse : MessageType::kAppendResponse;
      m.index = LogIndex(r.index());
      m.reject = r.reject();
      m.reject_hint = LogIndex(r.reject_hint());
      m.context = r.read_context();
      break;
    }
    case v1::RaftMessage::kVoteRequest: {
      const auto& v = in.vote_request();
      m.type = v.pre_vote() ? MessageType::kPreVote : MessageType::kVote;
      m.index = LogIndex(v.last_log_index());
      m.log_term = Term(v.last_log_term());
      m.transfer = v.leadership_transfer();
      break;
    }
    case v1::RaftMessage::kVoteResponse: {
      const auto& v = in.vote_response();
      m.type = v.pre_vote() ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
      m.reject = !v.vote_granted();
      break;
    }
    case v1::RaftMessage::kInstallSnapshotRequest: {
      const auto& s = in.install_snapshot_request();
      m.type = MessageType::kSnapshot;
      absl::StatusOr<SnapshotMeta> meta = MetaFromProto(s.metadata());
      if (!meta.ok()) return meta.status();
      m.snapshot = *meta;
      m.chunk_offset = s.offset();
      m.chunk = s.data();
      m.chunk_last = s.done();
      break;
    }
    case v1::RaftMessage::kInstallSnapshotResponse: {
      const auto& s = in.install_snapshot_response();
      m.type = MessageType::kSnapshotResponse;
      absl::StatusOr<SnapshotMeta> meta = MetaFromProto(s.metadata());
      if (!meta.ok()) return meta.status();
      m.snapshot = *meta;
      m.reject = s.reject();
      m.chunk_offset = s.received_bytes();
      break;
    }
    case v1::RaftMessage::kTimeoutNow:
      m.type = MessageType::kTimeoutNow;
      break;
    case v1::RaftMessage::BODY_NOT_SET:
      return absl::InvalidArgumentError("raft message without a body");
  }
  return m;
}

}  // namespace fjord::raft
