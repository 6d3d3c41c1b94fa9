// Where a control request's time goes: the daemon-wide time spent waiting for
// the workers' grace periods and saving the state file, so that a slow request
// can say which of the two held it (see ControlServer's slow-request log).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace venic::control {

enum class Phase : unsigned { kGracePeriod, kStateSave, kCount };

// Nanoseconds spent in `p` since the daemon started, over all threads.
inline std::atomic<uint64_t>& phase_ns(Phase p) {
  static std::atomic<uint64_t> totals[static_cast<unsigned>(Phase::kCount)];
  return totals[static_cast<unsigned>(p)];
}

// Adds the lifetime of this object to phase `p`.
class PhaseTimer {
 public:
  explicit PhaseTimer(Phase p) : phase_(p), start_(std::chrono::steady_clock::now()) {}
  ~PhaseTimer() {
    auto d = std::chrono::steady_clock::now() - start_;
    phase_ns(phase_).fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(),
                               std::memory_order_relaxed);
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  Phase phase_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace venic::control
