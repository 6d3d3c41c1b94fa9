// VPC Flow Logs, the control thread's half: every collection window (60 s;
// VENIC_FLOW_LOG_WINDOW_S=N, 1-600, shortens it and every aggregation window
// to N seconds, for tests) it flips the workers' FlowLogTables, harvests
// them after the workers' grace period, adds each flow to the flow logs that
// cover its ENI (the ENI, its subnet, its VPC; by TrafficType), and at the
// end of each flow log's aggregation window (MaxAggregationInterval) appends
// its records to the log's file, with a NODATA record for a covered ENI that
// had no traffic and SKIPDATA for one whose flows did not fit the table.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flow_log_config.h"
#include "flow_log_table.h"

namespace venic::observe {

// The workers' clock and the wall clock, so tsc stamps become Unix seconds.
struct FlowLogClock {
  uint64_t ticks_per_second = 1;
  std::function<uint64_t()> ticks;    // what workers pass as now_tsc
  std::function<int64_t()> unix_now;  // seconds
};

class FlowLogWriter {
 public:
  struct Place {
    EniPlace where;
    int64_t owner = 0;  // the ENI's owner uid (account-id)
  };
  // dir: where the files go (<dir>/<account-id>/<LogDestination>).
  // place_of(vf): the ENI a VF backs, if any.  defer(fn): runs fn on the
  // control thread after the workers' grace period.  window_s: 0 for EC2's
  // windows, else the test window (see above).
  FlowLogWriter(const FlowLogs& logs, std::string dir, unsigned workers,
                std::function<std::optional<Place>(uint16_t vf)> place_of,
                std::function<void(std::function<void()>)> defer, FlowLogClock clock, unsigned window_s = 0,
                uint32_t table_slots = 4096);

  // The fast path's: worker w records into table(w), for the VFs that
  // selection() marks.
  FlowLogTable& table(unsigned worker) { return *tables_.at(worker); }
  const FlowLogSelection& selection() const { return selection_; }

  // Control thread, every housekeeping round; cheap when nothing is due.
  void tick();

  // VENIC_FLOW_LOG_WINDOW_S, or 0 when unset or out of 1-600.
  static unsigned window_from_env();

 private:
  struct FlowId {
    uint16_t vf;
    bool accepted;
    FlowLogKey key;
    bool operator<(const FlowId& o) const;
  };
  struct Agg {
    uint64_t packets = 0, bytes = 0, first = 0, last = 0;
  };
  struct Window {
    int64_t start = 0;
    std::map<FlowId, Agg> flows;
    std::map<uint16_t, uint64_t> skipped;  // per VF
  };
  static constexpr size_t kMaxFlowsPerWindow = 100000;

  void refresh_places();
  void harvest(int64_t flipped_at);
  void write(const FlowLog& log, Window& w, int64_t end);
  int64_t unix_of(uint64_t ticks) const;
  unsigned interval_of(const FlowLog& log) const { return window_s_ ? window_s_ : log.max_aggregation_interval; }

  const FlowLogs& logs_;
  std::string dir_;
  std::vector<std::unique_ptr<FlowLogTable>> tables_;
  std::function<std::optional<Place>(uint16_t)> place_of_;
  std::function<void(std::function<void()>)> defer_;
  FlowLogClock clock_;
  unsigned window_s_;
  uint64_t anchor_ticks_;
  int64_t anchor_unix_;

  FlowLogSelection selection_;
  std::map<uint16_t, Place> places_;  // VFs that back an ENI
  uint64_t seen_generation_ = ~uint64_t(0);
  int64_t places_at_ = 0;
  int64_t next_collect_ = 0;
  bool harvest_pending_ = false;
  std::map<std::string, Window> windows_;  // per flow log id
  // A harvest deferred past the grace period runs only while we live.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace venic::observe
