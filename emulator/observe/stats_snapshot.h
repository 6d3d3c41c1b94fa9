// A JSON copy of the daemon's counters for readers on other threads (DPDK's
// telemetry thread, the metrics HTTP server).  The VF table belongs to the
// control thread, so readers never touch it: they ask for a snapshot, and the
// control thread builds one at its next housekeeping tick (about every
// 100 ms) when a reader has asked since the last.  Nobody asking costs
// nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace venic::observe {

class StatsSnapshot {
 public:
  using Json = nlohmann::json;
  using Clock = std::chrono::steady_clock;

  // Any thread but the control thread.  Returns the latest snapshot; when it
  // is older than max_age, asks for a fresh one and waits for it up to
  // `wait` (then returns what there is: possibly null, before the first).
  std::shared_ptr<const Json> read(std::chrono::milliseconds max_age = std::chrono::milliseconds(100),
                                   std::chrono::milliseconds wait = std::chrono::milliseconds(1000));

  // Control thread: a reader waits for a fresh snapshot.
  bool wanted() const { return wanted_.load(std::memory_order_acquire); }
  // Control thread: the new snapshot; wakes the readers waiting.
  void publish(Json j);

 private:
  mutable std::mutex m_;
  std::condition_variable fresh_;
  std::shared_ptr<const Json> current_;
  Clock::time_point at_{};
  uint64_t generation_ = 0;
  std::atomic<bool> wanted_{false};
};

}  // namespace venic::observe
