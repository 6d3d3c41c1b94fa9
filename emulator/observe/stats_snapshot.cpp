#include "stats_snapshot.h"

namespace venic::observe {

std::shared_ptr<const StatsSnapshot::Json> StatsSnapshot::read(std::chrono::milliseconds max_age,
                                                               std::chrono::milliseconds wait) {
  std::unique_lock lock(m_);
  if (current_ && Clock::now() - at_ <= max_age) return current_;
  const uint64_t seen = generation_;
  wanted_.store(true, std::memory_order_release);
  fresh_.wait_for(lock, wait, [&] { return generation_ != seen; });
  return current_;
}

void StatsSnapshot::publish(Json j) {
  auto next = std::make_shared<const Json>(std::move(j));
  {
    std::lock_guard lock(m_);
    current_ = std::move(next);
    at_ = Clock::now();
    generation_++;
    wanted_.store(false, std::memory_order_release);
  }
  fresh_.notify_all();
}

}  // namespace venic::observe
