#include "broker/controller_channel.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"

namespace fjord::broker {
namespace {

std::shared_ptr<v1::ControllerService::Stub> MakeStub(const std::string& address) {
  grpc::ChannelArguments args;
  // Metadata batches and snapshots can be large.
  args.SetMaxReceiveMessageSize(64 << 20);
  return v1::ControllerService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

}  // namespace

absl::StatusOr<std::vector<ControllerVoter>> ParseQuorumVoters(const std::string& voters) {
  std::vector<ControllerVoter> out;
  for (absl::string_view entry : absl::StrSplit(voters, ',', absl::SkipWhitespace())) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry, absl::MaxSplits('@', 1));
    ControllerVoter v;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &v.id) || v.id < 0 ||
        parts[1].find(':') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("controller.quorum.voters entry '", entry, "' is not id@host:port"));
    }
    v.address = std::string(parts[1]);
    out.push_back(std::move(v));
  }
  if (out.empty()) return absl::InvalidArgumentError("controller.quorum.voters is empty");
  return out;
}

ControllerChannel::ControllerChannel(std::vector<ControllerVoter> voters) {
  for (ControllerVoter& v : voters) {
    voters_.push_back(Voter{v.id, v.address, MakeStub(v.address)});
  }
}

std::shared_ptr<v1::ControllerService::Stub> ControllerChannel::Current(int32_t* id) {
  absl::MutexLock lock(&mu_);
  if (id != nullptr) *id = voters_[current_].id;
  return voters_[current_].stub;
}

void ControllerChannel::Failed(const v1::ActiveController* hint) {
  absl::MutexLock lock(&mu_);
  if (hint != nullptr && hint->controller_id() >= 0) {
    active_ = hint->controller_id();
    for (size_t i = 0; i < voters_.size(); ++i) {
      if (voters_[i].id == hint->controller_id()) {
        current_ = i;
        return;
      }
    }
  }
  current_ = (current_ + 1) % voters_.size();
}

int32_t ControllerChannel::active_id() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

}  // namespace fjord::broker
