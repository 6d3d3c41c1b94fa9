// Memory the workers may still reach (an old snapshot, a VF that went away),
// freed only once every worker has passed a quiescent state since it was
// retired.  Each retirement records an rte_rcu_qsbr token; reclaim() checks
// tokens without waiting, so the control thread never blocks on a worker that
// another process keeps off its core.  Control thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>

struct rte_rcu_qsbr;

namespace venic::fastpath {

class ReclaimQueue {
 public:
  // Retirements pending before defer() waits (a bounded, logged wait) for
  // the workers: each holds a snapshot's hash tables and memzones.
  static constexpr size_t kDefaultLimit = 128;
  static constexpr std::chrono::milliseconds kDefaultMaxWait{2000};

  explicit ReclaimQueue(rte_rcu_qsbr* qsbr, size_t limit = kDefaultLimit,
                        std::chrono::milliseconds max_wait = kDefaultMaxWait)
      : qsbr_(qsbr), limit_(limit), max_wait_(max_wait) {}
  // Runs whatever is still pending: the owner stops the workers first.
  ~ReclaimQueue() { run_all(); }
  ReclaimQueue(const ReclaimQueue&) = delete;
  ReclaimQueue& operator=(const ReclaimQueue&) = delete;

  // free_fn runs once no worker can still see what was unpublished before
  // this call; frees what is already safe.  Past the limit, waits for the
  // workers up to max_wait, then goes on (over the limit) and says so.
  void defer(std::function<void()> free_fn);
  // Runs, oldest first, every retirement whose grace period has ended;
  // returns how many.  Never waits.
  size_t reclaim();
  // Runs every retirement: only when no worker reads (stopped, or just
  // synchronized with every retirement already queued).
  void run_all();
  size_t pending() const { return q_.size(); }
  // Bounded waits taken so far (for tests and logs).
  uint64_t waits() const { return waits_; }

 private:
  void wait_below_limit();

  struct Retired {
    uint64_t token;
    std::function<void()> free_fn;
  };
  rte_rcu_qsbr* qsbr_;
  size_t limit_;
  std::chrono::milliseconds max_wait_;
  std::deque<Retired> q_;
  uint64_t waits_ = 0;
};

}  // namespace venic::fastpath
