// The poll-mode workers and the publication of snapshots to them.  Publishing
// swaps the snapshot pointer and retires the old one to a deferred-free queue
// (reclaim_queue.h): it is freed once every worker has passed a quiescent
// state (rte_rcu_qsbr), checked on the next publish and on each housekeeping
// tick, so workers take no locks and the control thread never waits on them.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "device_poller.h"
#include "exception_port.h"
#include "gateway_port.h"
#include "underlay_port.h"
#include "worker.h"
#include "observe_taps.h"
#include "flow_meter.h"
#include "reclaim_queue.h"
#include "snapshot.h"
#include "vf_table.h"

struct rte_rcu_qsbr;
struct rte_ring;

namespace venic::fastpath {

// One worker's load, as OVS's pmd-perf-show reports it: TSC cycles spent
// in loop iterations that moved something (busy), the rest since it started
// (idle: polling nothing, napping), and the descriptors moved.  Busy cycles per packet is the worker's cost.
struct WorkerStats {
  uint64_t busy_cycles = 0;
  uint64_t idle_cycles = 0;
  uint64_t packets = 0;
  uint64_t busy_iterations = 0;
};

class Dataplane : public vf::Publisher {
 public:
  // Uses the first `workers` worker lcores; throws when EAL has fewer.
  // An idle worker naps idle_sleep_us between polls (0: always busy-polls).
  Dataplane(unsigned workers, unsigned idle_sleep_us);
  ~Dataplane() override;

  void start();
  void stop();
  void publish(const vf::VfTable& table) override;
  // Also frees what the workers have moved past.
  void upkeep() override;
  nlohmann::json conntrack_usage(const vf::Vf& v) const override;
  // Runs free_fn (on the control thread) once every worker has passed a
  // quiescent state after this call; never waits, unless the queue is over
  // its bound (then briefly, logged).  Control thread only.
  void defer(std::function<void()> free_fn) override;
  // Returns once every worker has passed a quiescent state (finished the
  // loop iteration it was in); callable from any non-worker thread.  For
  // shutdown and for work that must follow the workers out of memory they
  // poll; it does not run deferred frees.
  void synchronize() override;
  unsigned workers() const { return static_cast<unsigned>(lcores_.size()); }
  // Every worker's load so far (read from any thread); the TSC's rate is rte_get_tsc_hz().
  std::vector<WorkerStats> worker_stats() const;
  // A device beside the Ethernet path (EFA): the first worker polls it, table
  // changes and upkeep reach it.  Set before start(); null: none.
  void set_device(vf::DevicePoller* d) { device_.store(d, std::memory_order_release); }
  // Flow logs and capture (observe_taps.h): the selection of logged VFs,
  // each worker's flow table, the 256 capture taps.  Set before start().
  void set_observe(const observe::FlowLogSelection* logged,
                   std::function<observe::FlowLogTable*(unsigned worker)> table, observe::CaptureTap* capture) {
    observe_logged_ = logged;
    observe_table_ = std::move(table);
    observe_capture_ = capture;
  }
  // Where service frames go (exception_port.h); set before start(); null: none.
  void set_exception_port(ExceptionPort* port) { exceptions_ = port; }
  // Where frames for internet and NAT gateways go (gateway_port.h); set before start(); null: none.
  void set_gateway_port(GatewayPort* port) { gateways_ = port; }
  // The uplink to other hosts (underlay_port.h): every worker sends through
  // it, the first also polls it.  Set before start(); null: one host only.
  void set_underlay_port(UnderlayPort* port) { underlay_ = port; }
  // A frame for VF vf from any thread, an answer of the instance services
  // or what the internet sent through a gateway (worker.h InjectFrom: only
  // the latter meets the groups): copied and queued (bounded), delivered by
  // the first worker.  False when the queue is full or the size impossible.
  bool inject(uint16_t vf, const uint8_t* frame, uint32_t len, InjectFrom from = InjectFrom::kServices);

 private:
  static int worker_main(void* arg);
  // The conntrack table of v's group, made (or remade at a new size) here.
  std::shared_ptr<Conntrack> conntrack_for(const vf::Vf& v);
  static std::string conntrack_group(const vf::Vf& v);
  void run_worker(unsigned index);

  std::vector<unsigned> lcores_;
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::unique_ptr<ReclaimQueue> reclaim_;          // control thread only
  std::vector<std::unique_ptr<FlowMeter>> flows_;  // one per worker
  // Conntrack tables by group (control thread only); a snapshot holds its own
  // references, so a table dropped here lives until no worker can use it.
  std::map<std::string, std::shared_ptr<Conntrack>> conntrack_;
  uint64_t conntrack_serial_ = 0;
  std::atomic<const Snapshot*> current_{nullptr};
  std::atomic<vf::DevicePoller*> device_{nullptr};
  ExceptionPort* exceptions_ = nullptr;
  GatewayPort* gateways_ = nullptr;
  UnderlayPort* underlay_ = nullptr;
  const observe::FlowLogSelection* observe_logged_ = nullptr;
  std::function<observe::FlowLogTable*(unsigned)> observe_table_;
  observe::CaptureTap* observe_capture_ = nullptr;
  rte_ring* injected_ = nullptr;  // Injected* from inject(), to worker 0
  // Delivers what inject() queued; returns frames taken.
  uint32_t drain_injected(const Snapshot& snap);
  std::atomic<bool> stop_{false};
  bool running_ = false;
  unsigned idle_sleep_us_ = 0;
  uint64_t generation_ = 0;
  struct Launch {
    Dataplane* self;
    unsigned index;
  };
  std::vector<Launch> launches_;
  // Written by its worker only (relaxed), one cache line each.
  struct alignas(64) LoadCounters {
    uint64_t started_at = 0;  // TSC when the worker started (0: not yet)
    uint64_t busy_cycles = 0, packets = 0, busy_iterations = 0;
  };
  std::unique_ptr<LoadCounters[]> load_;
};

}  // namespace venic::fastpath
