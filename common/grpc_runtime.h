// Keeps the gRPC library initialized for the rest of the process.
//
// gRPC shuts parts of itself down when their last user goes away and starts
// them again with the next. With gRPC 1.51's callback API that restart can
// crash the library's callback completion-queue threads
// (grpc_completion_queue_next on a dead queue), which a process that creates
// and destroys channels and servers repeatedly (tests, the CLI) hits. Every
// Fjord component that creates gRPC objects calls this first.
#pragma once

namespace fjord {

// Idempotent and thread-safe; never undone.
void KeepGrpcInitialized();

}  // namespace fjord
