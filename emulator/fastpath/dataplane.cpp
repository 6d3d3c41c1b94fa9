#include "dataplane.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <sched.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>

#include "phase_clock.h"
#include "worker.h"

namespace venic::fastpath {

// Idle polls before a worker yields its core: on a shared machine the
// drivers' threads may need it; a busy worker never yields.
constexpr unsigned kIdleBeforeYield = 64;
// A worker idle this long (~ a few ms of polling) naps between polls, if
// allowed: an emulator should not burn a core while no VF moves a packet.
constexpr unsigned kIdleBeforeNap = 100000;
// Service answers queued for delivery at most (Dataplane::inject): a
// flood of them waits in the services' own sockets, not here.
constexpr unsigned kInjectQueue = 1024;

// One queued answer: the frame follows the header.
struct Injected {
  uint16_t vf;
  InjectFrom from;
  uint32_t len;
  uint8_t frame[];
};

// Flows an ENI's instance may track when its config names no figure.
constexpr uint32_t kDefaultConntrack = 65536;
// Table positions checked for idle flows per control tick (10 per second).
constexpr uint32_t kSweepPerTick = 8192;

Dataplane::Dataplane(unsigned workers, unsigned idle_sleep_us) : idle_sleep_us_(idle_sleep_us) {
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    if (lcores_.size() == workers) break;
    lcores_.push_back(lcore);
  }
  if (lcores_.size() < workers)
    throw std::runtime_error("--workers " + std::to_string(workers) + " needs " + std::to_string(workers) +
                             " worker lcores but EAL has " + std::to_string(lcores_.size()) + " (give EAL e.g. -l 0-" +
                             std::to_string(workers) + ")");
  install_fault_guard();
  load_ = std::make_unique<LoadCounters[]>(workers);
  for (unsigned i = 0; i < workers; i++) flows_.push_back(std::make_unique<FlowMeter>(i, rte_get_tsc_hz()));
  size_t sz = rte_rcu_qsbr_get_memsize(workers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("venic_qsbr", sz, RTE_CACHE_LINE_SIZE));
  if (!qsbr_ || rte_rcu_qsbr_init(qsbr_, workers) != 0) throw std::runtime_error("cannot set up RCU");
  reclaim_ = std::make_unique<ReclaimQueue>(qsbr_);
  static std::atomic<unsigned> serial{0};
  const std::string name = "venic_inject" + std::to_string(serial++);
  injected_ = rte_ring_create(name.c_str(), kInjectQueue, SOCKET_ID_ANY, RING_F_SC_DEQ);
  if (!injected_) throw std::runtime_error("cannot create the service answer queue");
}

bool Dataplane::inject(uint16_t vf, const uint8_t* frame, uint32_t len, InjectFrom from) {
  if (len < 14 || len > VENIC_FRAME_MAX) return false;
  auto* in = static_cast<Injected*>(std::malloc(sizeof(Injected) + len));
  if (!in) return false;
  in->vf = vf;
  in->from = from;
  in->len = len;
  std::memcpy(in->frame, frame, len);
  if (rte_ring_mp_enqueue(injected_, in) != 0) {
    std::free(in);
    return false;
  }
  return true;
}

uint32_t Dataplane::drain_injected(const Snapshot& snap) {
  void* items[32];
  const unsigned n = rte_ring_sc_dequeue_burst(injected_, items, 32, nullptr);
  for (unsigned i = 0; i < n; i++) {
    auto* in = static_cast<Injected*>(items[i]);
    deliver_from_services(snap, in->vf, in->frame, in->len, in->from);
    std::free(in);
  }
  return n;
}

Dataplane::~Dataplane() {
  stop();
  delete current_.exchange(nullptr);
  reclaim_.reset();  // no worker runs: everything retired goes now
  rte_free(qsbr_);
  if (injected_) {
    void* in;
    while (rte_ring_sc_dequeue(injected_, &in) == 0) std::free(in);
    rte_ring_free(injected_);
  }
}

std::string Dataplane::conntrack_group(const vf::Vf& v) {
  return v.cfg.security.conntrack_group.empty() ? "vf" + std::to_string(v.cfg.id) : v.cfg.security.conntrack_group;
}

std::shared_ptr<Conntrack> Dataplane::conntrack_for(const vf::Vf& v) {
  const std::string group = conntrack_group(v);
  const uint32_t want = v.cfg.security.conntrack_max ? v.cfg.security.conntrack_max : kDefaultConntrack;
  auto it = conntrack_.find(group);
  if (it != conntrack_.end() && it->second->capacity() == want) return it->second;
  try {
    auto ct = std::make_shared<Conntrack>("venic_ct_" + std::to_string(++conntrack_serial_), want, rte_get_tsc_hz());
    conntrack_[group] = ct;
    return ct;
  } catch (const std::exception& e) {
    // Fail closed: the VF's new flows count as over the conntrack allowance.
    std::fprintf(stderr, "venicd: VF %u: %s; its new flows are refused\n", v.cfg.id, e.what());
    if (it != conntrack_.end()) conntrack_.erase(it);
    return nullptr;
  }
}

void Dataplane::upkeep() {
  reclaim_->reclaim();
  const uint64_t now = rte_rdtsc();
  for (auto& [group, ct] : conntrack_) ct->sweep(now, kSweepPerTick);
  if (vf::DevicePoller* d = device_.load(std::memory_order_acquire)) d->tick();
}

nlohmann::json Dataplane::conntrack_usage(const vf::Vf& v) const {
  if (!v.cfg.security.enforced) return nullptr;
  auto it = conntrack_.find(conntrack_group(v));
  if (it == conntrack_.end()) return {{"tracked", 0}, {"max", 0}, {"group", conntrack_group(v)}};
  return {{"tracked", it->second->size()}, {"max", it->second->capacity()}, {"group", conntrack_group(v)}};
}

void Dataplane::publish(const vf::VfTable& table) {
  std::set<std::string> used;
  auto ct_for = [&](const vf::Vf& v) {
    used.insert(conntrack_group(v));
    return conntrack_for(v);
  };
  auto* next = new Snapshot(table, workers(), ++generation_, ct_for);
  for (auto it = conntrack_.begin(); it != conntrack_.end();)
    it = used.count(it->first) ? std::next(it) : conntrack_.erase(it);
  const Snapshot* old = current_.exchange(next, std::memory_order_acq_rel);
  // Freed once every worker that might hold `old` has passed a quiescent state.
  if (old) defer([old] { delete old; });
  if (vf::DevicePoller* d = device_.load(std::memory_order_acquire)) d->on_table(table);
}

void Dataplane::defer(std::function<void()> free_fn) {
  reclaim_->defer(std::move(free_fn));
}

void Dataplane::synchronize() {
  control::PhaseTimer timed(control::Phase::kGracePeriod);
  const uint64_t token = rte_rcu_qsbr_start(qsbr_);
  // Nap rather than spin (as rte_rcu_qsbr_synchronize does): on a busy
  // machine the worker this waits for may need this very core.
  const timespec nap{0, 50 * 1000};
  while (rte_rcu_qsbr_check(qsbr_, token, false) != 1) nanosleep(&nap, nullptr);
}

int Dataplane::worker_main(void* arg) {
  auto* l = static_cast<Launch*>(arg);
  l->self->run_worker(l->index);
  return 0;
}

void Dataplane::run_worker(unsigned index) {
  worker_thread_use_flows(flows_[index].get());
  route_use_exception_port(exceptions_);
  route_use_gateway_port(gateways_);
  route_use_underlay_port(underlay_);
  if (underlay_) underlay_->attach_worker(index);
  observe_use({observe_logged_, observe_table_ ? observe_table_(index) : nullptr, observe_capture_});
  rte_rcu_qsbr_thread_register(qsbr_, index);
  rte_rcu_qsbr_thread_online(qsbr_, index);
  unsigned idle = 0, idle_long = 0;
  const timespec nap{0, static_cast<long>(idle_sleep_us_) * 1000};
  LoadCounters& load = load_[index];
  __atomic_store_n(&load.started_at, rte_rdtsc(), __ATOMIC_RELAXED);
  while (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t t0 = rte_rdtsc();
    uint32_t work = 0, moved = 0;
    if (const Snapshot* s = current_.load(std::memory_order_acquire)) {
      for (const PortView* p : s->shard(index)) {
        if (p->bridge) {
          // An in-daemon driver: it fills the TX ring and drains the RX ring
          // around the burst, as a PMD would in its own process.
          for (uint32_t q = 0; q < p->active_qps; q++) {
            work += call_bridge(*p->bridge, &vf::Bridge::to_vf, q);
            moved += process_tx_burst(*s, *p, q);
            work += call_bridge(*p->bridge, &vf::Bridge::from_vf, q);
          }
          continue;
        }
        for (uint32_t q = 0; q < p->active_qps; q++) moved += process_tx_burst(*s, *p, q);
      }
      work += moved;
    }
    if (index == 0 && rte_ring_count(injected_))
      if (const Snapshot* s = current_.load(std::memory_order_acquire)) work += drain_injected(*s);
    if (index == 0 && underlay_)
      if (const Snapshot* s = current_.load(std::memory_order_acquire)) work += underlay_->poll(*s);
    if (index == 0)
      if (vf::DevicePoller* d = device_.load(std::memory_order_acquire)) work += d->poll();
    rte_rcu_qsbr_quiescent(qsbr_, index);
    // Everything it moved met a full RX ring: the receivers are behind, and
    // may share this core (a guest's sender does not yield): give it up.
    if (const uint32_t full = worker_take_rx_full(); full && full >= moved) sched_yield();
    if (work) {
      // Naps and yields below are idle time, never busy.
      vf::counter_add(load.busy_cycles, rte_rdtsc() - t0);
      vf::counter_add(load.busy_iterations, 1);
      vf::counter_add(load.packets, moved);
    }
    if (work) {
      idle = idle_long = 0;
    } else if (idle_sleep_us_ && ++idle_long >= kIdleBeforeNap) {
      idle_long = kIdleBeforeNap;
      nanosleep(&nap, nullptr);
    } else if (++idle >= kIdleBeforeYield) {
      idle = 0;
      sched_yield();
    } else {
      rte_pause();
    }
  }
  rte_rcu_qsbr_thread_offline(qsbr_, index);
  rte_rcu_qsbr_thread_unregister(qsbr_, index);
  worker_thread_use_flows(nullptr);
  route_use_exception_port(nullptr);
  route_use_gateway_port(nullptr);
  route_use_underlay_port(nullptr);
  observe_use({});
}

std::vector<WorkerStats> Dataplane::worker_stats() const {
  std::vector<WorkerStats> out;
  for (unsigned i = 0; i < workers(); i++) {
    const LoadCounters& l = load_[i];
    const uint64_t started = vf::counter_read(l.started_at), busy = vf::counter_read(l.busy_cycles);
    const uint64_t elapsed = started ? rte_rdtsc() - started : 0;
    out.push_back(
        {busy, elapsed > busy ? elapsed - busy : 0, vf::counter_read(l.packets), vf::counter_read(l.busy_iterations)});
  }
  return out;
}

void Dataplane::start() {
  if (running_) return;
  stop_ = false;
  launches_.clear();
  launches_.reserve(lcores_.size());
  for (unsigned i = 0; i < lcores_.size(); i++) launches_.push_back({this, i});
  for (unsigned i = 0; i < lcores_.size(); i++) rte_eal_remote_launch(worker_main, &launches_[i], lcores_[i]);
  running_ = true;
}

void Dataplane::stop() {
  if (!running_) return;
  stop_ = true;
  for (unsigned lc : lcores_) rte_eal_wait_lcore(lc);
  running_ = false;
}

}  // namespace venic::fastpath
