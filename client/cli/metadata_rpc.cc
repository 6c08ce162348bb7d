#include "client/cli/metadata_rpc.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_runtime.h"
#include "common/grpc_status.h"
#include "grpcpp/grpcpp.h"

namespace fjord::cli {

absl::StatusOr<v1::MetadataResponse> FetchMetadata(
    const std::vector<std::string>& bootstrap_servers, const std::vector<std::string>& topics,
    absl::Duration timeout) {
  KeepGrpcInitialized();
  v1::MetadataRequest request;
  request.set_all_topics(topics.empty());
  for (const std::string& topic : topics) request.add_topics()->set_topic(topic);
  absl::Status last_error = absl::UnavailableError("no bootstrap servers given");
  for (const std::string& address : bootstrap_servers) {
    auto stub = v1::BrokerService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    v1::MetadataResponse response;
    grpc::Status status = stub->Metadata(&context, request, &response);
    if (status.ok()) return response;
    last_error = absl::UnavailableError(
        absl::StrCat("metadata from ", address, ": ", FromGrpcStatus(status).message()));
  }
  return last_error;
}

std::string TopicIdString(const v1::Uuid& id) {
  std::string bytes(16, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<char>(id.high() >> (56 - 8 * i));
    bytes[8 + i] = static_cast<char>(id.low() >> (56 - 8 * i));
  }
  return absl::WebSafeBase64Escape(bytes);
}

}  // namespace fjord::cli
