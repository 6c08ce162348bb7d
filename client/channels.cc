#include "client/channels.h"

#include "common/grpc_runtime.h"

namespace fjord::client {

Channels::Channels(int max_message_bytes) : max_message_bytes_(max_message_bytes) {
  KeepGrpcInitialized();
}

std::shared_ptr<grpc::Channel> Channels::Get(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto& channel = channels_[address];
  if (channel == nullptr) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(max_message_bytes_);
    args.SetMaxSendMessageSize(max_message_bytes_);
    // Fail fast on a dead broker so the client can try another one, but
    // reconnect quickly once it is back.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  return channel;
}

}  // namespace fjord::client
