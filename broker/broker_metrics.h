// BrokerMetrics: the broker's Prometheus metrics (prometheus-cpp), served at
// /metrics by an Exposer on `metrics.listen`.
//
//   fjord_broker_records_in_total, fjord_broker_bytes_in_total      Produce
//   fjord_broker_bytes_out_total{rpc="fetch"|"replica_fetch"}       reads
//   fjord_broker_request_latency_seconds{rpc=...}                   histogram
//   fjord_broker_partitions, fjord_broker_leader_partitions
//   fjord_broker_under_replicated_partitions
//   fjord_broker_under_min_isr_partitions
//   fjord_broker_offline_partitions          (log failed, e.g. disk error)
//   fjord_broker_isr_shrinks_total, fjord_broker_isr_expands_total
//   fjord_broker_replica_max_lag_records     (leaders' slowest follower)
//   fjord_broker_log_size_bytes
//   fjord_broker_log_flush_latency_seconds   histogram of flush rounds
//                                            (fdatasync; group commit shares)
//   fjord_broker_log_cleaner_runs_total, fjord_broker_log_cleaner_bytes_cleaned_total
//   fjord_broker_log_cleaner_dirty_ratio{topic,partition}   (compacted topics)
//
// Request metrics update on handler threads (prometheus-cpp metrics are
// thread-safe); partition gauges update in Collect(), called periodically.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/replica_manager.h"
#include "broker/request_observer.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "storage/log_config.h"

namespace fjord::broker {

class BrokerMetrics final : public RequestObserver, public storage::FlushObserver {
 public:
  BrokerMetrics();

  // Serves /metrics on `bind` ("host:port").
  absl::Status Serve(const std::string& bind);
  void OnRequest(Rpc rpc, absl::Duration latency, int64_t records, int64_t bytes) override;
  // Every partition log's flush rounds (BrokerServerOptions.log.flush_observer).
  void OnFlush(absl::Duration latency) override;
  // The log cleaner (log_cleaner.h).
  void OnDirtyRatio(const std::string& topic, int32_t partition, double ratio) override;
  void OnLogCleaned(const std::string& topic, int32_t partition, int64_t bytes_read,
                    int64_t bytes_written) override;
  // Recomputes the partition gauges from `replicas`.
  void Collect(const ReplicaManager& replicas);
  // The text exposition (tests).
  std::string Render() const;
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Counter* records_in_;
  prometheus::Counter* bytes_in_;
  prometheus::Counter* bytes_out_fetch_;
  prometheus::Counter* bytes_out_replica_;
  prometheus::Histogram* latency_[5];
  prometheus::Gauge* partitions_;
  prometheus::Gauge* leaders_;
  prometheus::Gauge* under_replicated_;
  prometheus::Gauge* under_min_isr_;
  prometheus::Gauge* offline_;
  prometheus::Counter* isr_shrinks_;
  prometheus::Counter* isr_expands_;
  prometheus::Gauge* max_lag_;
  prometheus::Gauge* log_size_;
  prometheus::Histogram* flush_latency_;
  prometheus::Counter* cleaner_runs_;
  prometheus::Counter* cleaner_bytes_;
  prometheus::Family<prometheus::Gauge>* dirty_ratio_;
  double shrinks_seen_ = 0;  // Collect() thread only.
  double expands_seen_ = 0;
};

}  // namespace fjord::broker
