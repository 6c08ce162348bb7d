#include "common/grpc_runtime.h"

#include <grpc/grpc.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>

namespace fjord {
namespace {

// gRPC 1.51 serves the callback API on Linux from one process-wide
// "alternative" completion queue with its own polling threads, refcounted
// by the channels that use it; when the count drops to zero the queue shuts
// down, and a channel created during that shutdown crashes the polling
// threads (SIGSEGV in grpc_completion_queue_next). This anchor channel makes
// one callback call and is never destroyed, so the count never drops to zero.
void AnchorCallbackQueue() {
  auto* channel = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
      "unix:/nonexistent/fjord-grpc-anchor", grpc::InsecureChannelCredentials()));
  auto* stub = new grpc::GenericStub(*channel);
  auto* context = new grpc::ClientContext;
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1));
  grpc::Slice payload("x", 1);
  auto* request = new grpc::ByteBuffer(&payload, 1);
  auto* response = new grpc::ByteBuffer;
  // Everything above is deliberately leaked: it must outlive the process's
  // last gRPC call. The call itself fails at once (nothing listens there).
  stub->UnaryCall(context, "/fjord.Anchor/Anchor", grpc::StubOptions(), request, response,
                  [](grpc::Status) {});
}

}  // namespace

void KeepGrpcInitialized() {
  // One extra library reference and one callback-queue reference, never
  // released (thread-safe static initialization).
  [[maybe_unused]] static const bool initialized = [] {
    grpc_init();
    AnchorCallbackQueue();
    return true;
  }();
}

}  // namespace fjord
