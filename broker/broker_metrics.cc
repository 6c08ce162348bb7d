#include "broker/broker_metrics.h"

#include "prometheus/text_serializer.h"

namespace fjord::broker {
namespace {

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kProduce:
      return "produce";
    case Rpc::kFetch:
      return "fetch";
    case Rpc::kListOffsets:
      return "list_offsets";
    case Rpc::kMetadata:
      return "metadata";
    case Rpc::kReplicaFetch:
      return "replica_fetch";
  }
  return "unknown";
}

}  // namespace

BrokerMetrics::BrokerMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& in = prometheus::BuildCounter()
                 .Name("fjord_broker_records_in_total")
                 .Help("Records appended by Produce")
                 .Register(*registry_);
  records_in_ = &in.Add({});
  bytes_in_ = &prometheus::BuildCounter()
                   .Name("fjord_broker_bytes_in_total")
                   .Help("Record batch bytes appended by Produce")
                   .Register(*registry_)
                   .Add({});
  auto& out = prometheus::BuildCounter()
                  .Name("fjord_broker_bytes_out_total")
                  .Help("Record batch bytes served")
                  .Register(*registry_);
  bytes_out_fetch_ = &out.Add({{"rpc", "fetch"}});
  bytes_out_replica_ = &out.Add({{"rpc", "replica_fetch"}});
  auto& latency = prometheus::BuildHistogram()
                      .Name("fjord_broker_request_latency_seconds")
                      .Help("Request latency by RPC, including purgatory waits")
                      .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
  for (Rpc rpc :
       {Rpc::kProduce, Rpc::kFetch, Rpc::kListOffsets, Rpc::kMetadata, Rpc::kReplicaFetch}) {
    latency_[static_cast<int>(rpc)] = &latency.Add({{"rpc", RpcName(rpc)}}, buckets);
  }
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
  };
  partitions_ = gauge("fjord_broker_partitions", "Partition replicas hosted");
  leaders_ = gauge("fjord_broker_leader_partitions", "Partitions this broker leads");
  under_replicated_ = gauge("fjord_broker_under_replicated_partitions",
                            "Led partitions whose ISR is smaller than the replica set");
  under_min_isr_ = gauge("fjord_broker_under_min_isr_partitions",
                         "Led partitions whose ISR is below min.insync.replicas");
  offline_ = gauge("fjord_broker_offline_partitions", "Replicas whose log failed");
  isr_shrinks_ = &prometheus::BuildCounter()
                      .Name("fjord_broker_isr_shrinks_total")
                      .Help("ISR shrinks proposed by this broker's leaders")
                      .Register(*registry_)
                      .Add({});
  isr_expands_ = &prometheus::BuildCounter()
                      .Name("fjord_broker_isr_expands_total")
                      .Help("ISR expansions proposed by this broker's leaders")
                      .Register(*registry_)
                      .Add({});
  max_lag_ = gauge("fjord_broker_replica_max_lag_records",
                   "Largest follower lag behind a leader's log end, in offsets");
  log_size_ = gauge("fjord_broker_log_size_bytes", "Bytes in all partition logs");
  flush_latency_ = &prometheus::BuildHistogram()
                        .Name("fjord_broker_log_flush_latency_seconds")
                        .Help("Partition log flush rounds (fdatasync of unsynced files)")
                        .Register(*registry_)
                        .Add({}, buckets);
  cleaner_runs_ = &prometheus::BuildCounter()
                       .Name("fjord_broker_log_cleaner_runs_total")
                       .Help("Partition compactions run by the log cleaner")
                       .Register(*registry_)
                       .Add({});
  cleaner_bytes_ = &prometheus::BuildCounter()
                        .Name("fjord_broker_log_cleaner_bytes_cleaned_total")
                        .Help("Log bytes read (and rewritten) by the log cleaner")
                        .Register(*registry_)
                        .Add({});
  dirty_ratio_ = &prometheus::BuildGauge()
                      .Name("fjord_broker_log_cleaner_dirty_ratio")
                      .Help("Dirty bytes / cleanable bytes of each compacted partition")
                      .Register(*registry_);
}

absl::Status BrokerMetrics::Serve(const std::string& bind) {
  // prometheus-cpp's Exposer throws if it cannot bind; Fjord code does not
  // use exceptions, so this is the one place that catches.
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(bind);
  } catch (const std::exception& e) {
    return absl::UnavailableError(std::string("metrics.listen ") + bind + ": " + e.what());
  }
  exposer_->RegisterCollectable(registry_);
  return absl::OkStatus();
}

void BrokerMetrics::OnRequest(Rpc rpc, absl::Duration latency, int64_t records, int64_t bytes) {
  latency_[static_cast<int>(rpc)]->Observe(absl::ToDoubleSeconds(latency));
  switch (rpc) {
    case Rpc::kProduce:
      records_in_->Increment(static_cast<double>(records));
      bytes_in_->Increment(static_cast<double>(bytes));
      break;
    case Rpc::kFetch:
      bytes_out_fetch_->Increment(static_cast<double>(bytes));
      break;
    case Rpc::kReplicaFetch:
      bytes_out_replica_->Increment(static_cast<double>(bytes));
      break;
    default:
      break;
  }
}

void BrokerMetrics::OnFlush(absl::Duration latency) {
  flush_latency_->Observe(absl::ToDoubleSeconds(latency));
}

void BrokerMetrics::Collect(const ReplicaManager& replicas) {
  double partitions = 0, leaders = 0, under = 0, under_min = 0, offline = 0, lag = 0, size = 0;
  double shrinks = 0, expands = 0;
  for (const std::shared_ptr<Replica>& r : replicas.All()) {
    ++partitions;
    if (r->role() == Replica::Role::kLeader) ++leaders;
    if (r->UnderReplicated()) ++under;
    if (r->UnderMinIsr()) ++under_min;
    if (!r->log().health().ok()) ++offline;
    lag = std::max(lag, static_cast<double>(r->MaxFollowerLag()));
    size += static_cast<double>(r->log().size_bytes());
    shrinks += static_cast<double>(r->isr_shrinks());
    expands += static_cast<double>(r->isr_expands());
  }
  partitions_->Set(partitions);
  leaders_->Set(leaders);
  under_replicated_->Set(under);
  under_min_isr_->Set(under_min);
  offline_->Set(offline);
  max_lag_->Set(lag);
  log_size_->Set(size);
  // Per-replica counts restart when a replica is reopened; count only growth.
  if (shrinks > shrinks_seen_) isr_shrinks_->Increment(shrinks - shrinks_seen_);
  if (expands > expands_seen_) isr_expands_->Increment(expands - expands_seen_);
  shrinks_seen_ = shrinks;
  expands_seen_ = expands;
}

std::string BrokerMetrics::Render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void BrokerMetrics::OnDirtyRatio(const std::string& topic, int32_t partition, double ratio) {
  dirty_ratio_->Add({{"topic", topic}, {"partition", std::to_string(partition)}}).Set(ratio);
}

void BrokerMetrics::OnLogCleaned(const std::string& topic, int32_t partition, int64_t bytes_read,
                                 int64_t bytes_written) {
  (void)topic, (void)partition, (void)bytes_written;
  cleaner_runs_->Increment();
  cleaner_bytes_->Increment(static_cast<double>(bytes_read));
}

}  // namespace fjord::broker
