// Everything venicd shows of itself, put together for main.cpp: the stats
// snapshot with its readers (rte_telemetry, the Prometheus endpoint), VPC
// Flow Logs (ec2.*FlowLogs and their writer) and packet capture (capture.*).
// The fast path reaches it through flow_log_writer() (table(worker),
// selection()) and captures() (tap(vf)); see flow_log_table.h and
// capture_tap.h for what to call per packet.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "capture_service.h"
#include "flow_log_config.h"
#include "flow_log_writer.h"
#include "metrics_server.h"
#include "snapshot_builder.h"
#include "stats_snapshot.h"

namespace venic::control {
class ControlMethods;
}

namespace venic::observe {

struct ObserverOptions {
  std::string version;
  unsigned workers = 1;
  bool telemetry = true;
  std::string metrics;  // HOST:PORT, or empty for none
  std::string flow_log_dir = "/var/log/venic/flow-logs";
};

class Observer {
 public:
  // defer(fn): runs fn on the control thread after the workers' grace period.
  // Registers its methods with `methods`; throws std::runtime_error when the
  // metrics address cannot be served.
  Observer(const ObserverOptions& o, vf::VfTable& table, model::Ec2Service& ec2, efa::EfaEngine& efa,
           control::ControlMethods& methods, std::function<void(std::function<void()>)> defer);
  ~Observer();
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  // Control thread, about every millisecond (ServerOptions::housekeeping).
  void housekeeping();
  // Per-worker load (busy_cycles, idle_cycles, packets, one object a
  // worker) for stats, telemetry and metrics; called on the control thread.
  void set_worker_stats(std::function<nlohmann::json()> f);
  // The uplink's counters for the metrics (venic_underlay_*).
  void set_underlay_stats(std::function<nlohmann::json()> f) { sources_.underlay_stats = std::move(f); }

  FlowLogWriter& flow_log_writer() { return flow_writer_; }
  CaptureService& captures() { return captures_; }
  // "http://HOST:PORT/metrics", or empty.
  std::string metrics_url() const;

 private:
  control::ControlMethods& methods_;
  std::shared_ptr<StatsSnapshot> snapshot_ = std::make_shared<StatsSnapshot>();
  SnapshotSources sources_;
  FlowLogs flow_logs_;
  FlowLogWriter flow_writer_;
  CaptureService captures_;
  std::optional<MetricsServer> metrics_;
  std::string metrics_host_;
};

}  // namespace venic::observe
