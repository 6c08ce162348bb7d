// gRPC channels to brokers and controllers, one per address, shared by every
// request to that address (gRPC multiplexes calls over one HTTP/2
// connection). Message size limits are set explicitly on every channel.
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"

namespace fjord::client {

class Channels {
 public:
  // `max_message_bytes` bounds what a response may carry (fetch.max.bytes
  // plus headroom) and what a request may send.
  explicit Channels(int max_message_bytes);

  // The channel for "host:port", created on first use.
  std::shared_ptr<grpc::Channel> Get(const std::string& address);

 private:
  const int max_message_bytes_;
  absl::Mutex mu_;  // guards channels_
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fjord::client
