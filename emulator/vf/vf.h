// One VF as the daemon holds it: configuration, region, attachment, and the
// private runtime state that the fast path reads and writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "allowance.h"
#include "dma_table.h"
#include "venic_abi.h"
#include "vf_config.h"
#include "vf_region.h"

namespace venic::vf {

// A tiny test-and-test-and-set lock: held only while one worker delivers a
// burst into one RX queue, so it is uncontended with one worker.
class SpinLock {
 public:
  void lock() {
    while (flag_.exchange(true, std::memory_order_acquire))
      while (flag_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
  }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

// Counters have a single writer (the owning worker, or the RX lock holder)
// and are read by the control thread, hence relaxed atomic loads/stores.
inline void counter_add(uint64_t& c, uint64_t n) {
  __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
inline uint64_t counter_read(const uint64_t& c) {
  return __atomic_load_n(&c, __ATOMIC_RELAXED);
}

struct QueueCounters {
  uint64_t pkts = 0;
  uint64_t bytes = 0;
  uint64_t zero_copy_pkts = 0;
  uint64_t drops[VENIC_DROP_REASONS_MAX] = {};
  uint64_t allowance[VENIC_ALLOW_MAX] = {};  // packets held or dropped, per venic_allowance
};

// Written only by the worker that owns the VF.
struct alignas(VENIC_CACHE_LINE) TxqRuntime {
  uint32_t cons = 0;  // our TX SQ consumer index (never read back from shared memory)
  // A packet held in the ring by an allowance is counted once, not per poll.
  bool holding = false;
  uint32_t held_at = 0;
  QueueCounters c;
};

// Written by whichever worker holds lock.
struct alignas(VENIC_CACHE_LINE) RxqRuntime {
  SpinLock lock;
  uint32_t cons = 0;  // our RX SQ consumer index == RX CQ producer index
  QueueCounters c;
};

// Allowance buckets.  Egress ones belong to the VF's worker; the inbound
// bandwidth and the (bidirectional) PPS buckets are shared by every worker
// that delivers to the VF, under `lock`, held for one burst; only a conntrack
// table's lock (which takes nothing else) is taken inside it.
struct alignas(VENIC_CACHE_LINE) AllowanceRuntime {
  TokenBucket bw_out, linklocal;
  FlowGate flow_gate;  // the per-flow cap's first stage
  alignas(VENIC_CACHE_LINE) SpinLock lock;
  TokenBucket bw_in, pps;
};

struct VfRuntime {
  std::array<TxqRuntime, VENIC_MAX_QPS> txq;
  std::array<RxqRuntime, VENIC_MAX_QPS> rxq;
  AllowanceRuntime allowance;
  std::atomic<uint32_t> bad_desc{0};  // since the last reset
  std::atomic<bool> mdd_tripped{false};
  uint64_t mdd_resets = 0;

  void reset_indices() {
    for (auto& q : txq) q.cons = 0, q.holding = false;
    for (auto& q : rxq) q.cons = 0;
  }
};

// Receive-side scaling as the driver set it (VENIC_ADMIN_SET_RSS_KEY/RETA).
struct RssConfig {
  uint32_t types = 0;  // VENIC_RSS_*; 0: every frame to queue 0, no hash
  std::array<uint8_t, VENIC_RSS_KEY_SIZE> key{};
  std::array<uint8_t, VENIC_RETA_SIZE> reta{};  // queue per entry
};

// A driver inside venicd: moves frames between a VF's rings and another
// transport (a guest's virtqueues).  Called only by the worker that owns the
// VF, only while the VF is polled, around each TX burst of queue q.
class Bridge {
 public:
  virtual ~Bridge() = default;
  // Frames from the other side into the VF's TX SQ; returns frames moved.
  virtual uint32_t to_vf(uint32_t q) = 0;
  // The VF's RX completions out to the other side; returns frames moved.
  virtual uint32_t from_vf(uint32_t q) = 0;
  // The other side's memory faulted during a call (its file was truncated):
  // the pages were replaced with private ones and the call completed; the
  // bridge stops serving that peer.  Called by the same worker.
  virtual void peer_memory_faulted() {}
};

// Malformed descriptors tolerated before the VF is reset.
inline constexpr uint32_t kMddThreshold = 16;

struct Vf {
  VfConfig cfg;
  std::unique_ptr<VfRegion> region;
  std::unique_ptr<VfRuntime> rt = std::make_unique<VfRuntime>();

  uint64_t session = 0;  // attaching control connection; 0 = none
  int owner_pid = 0;
  bool started = false;
  uint32_t active_qps = 0;
  uint32_t rx_mode = 0;  // VENIC_VF_PROMISC | VENIC_VF_ALLMULTI
  RssConfig rss;
  uint32_t offloads = 0;  // VENIC_OFFLOAD_*
  std::shared_ptr<const DmaTable> dma;
  Bridge* bridge = nullptr;    // the in-daemon driver attached (vhost-user), owned by its front-end
  uint32_t admin_sq_cons = 0;  // our admin indices (never read back)
  uint32_t admin_cq_prod = 0;
  // Counter values at the last stats reset (reported = now - base).
  std::array<QueueCounters, VENIC_MAX_QPS> tx_base{}, rx_base{};
  uint64_t mdd_base = 0;

  bool attached() const { return session != 0; }
  bool polled() const { return attached() && started && cfg.link_up; }
  uint32_t flags() const { return (cfg.trusted ? VENIC_VF_TRUSTED : 0) | rx_mode | (started ? VENIC_VF_STARTED : 0); }
};

}  // namespace venic::vf
