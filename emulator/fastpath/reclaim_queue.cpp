#include "reclaim_queue.h"

#include <rte_rcu_qsbr.h>
#include <time.h>

#include <cstdio>

#include "phase_clock.h"

namespace venic::fastpath {

void ReclaimQueue::defer(std::function<void()> free_fn) {
  q_.push_back({rte_rcu_qsbr_start(qsbr_), std::move(free_fn)});
  reclaim();
  if (q_.size() > limit_) wait_below_limit();
}

size_t ReclaimQueue::reclaim() {
  size_t n = 0;
  // Tokens grow in queue order: the first one not yet reached stops the scan.
  while (!q_.empty() && rte_rcu_qsbr_check(qsbr_, q_.front().token, false) == 1) {
    auto fn = std::move(q_.front().free_fn);
    q_.pop_front();
    if (fn) fn();
    n++;
  }
  return n;
}

void ReclaimQueue::run_all() {
  while (!q_.empty()) {
    auto fn = std::move(q_.front().free_fn);
    q_.pop_front();
    if (fn) fn();
  }
}

void ReclaimQueue::wait_below_limit() {
  control::PhaseTimer timed(control::Phase::kGracePeriod);
  waits_++;
  const auto start = std::chrono::steady_clock::now();
  std::fprintf(stderr, "venicd: %zu retirements wait for the workers' grace period; waiting up to %lld ms\n", q_.size(),
               static_cast<long long>(max_wait_.count()));
  // Sleep rather than spin: on a busy machine the worker we wait for may
  // need this very core.
  const timespec nap{0, 200 * 1000};
  while (q_.size() > limit_ && std::chrono::steady_clock::now() - start < max_wait_) {
    nanosleep(&nap, nullptr);
    reclaim();
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "venicd: waited %lld ms for the workers; %zu retirements still pending\n",
               static_cast<long long>(ms), q_.size());
}

}  // namespace venic::fastpath
