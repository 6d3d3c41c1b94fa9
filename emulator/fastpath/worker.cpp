#include "worker.h"

#include <rte_cycles.h>
#include <setjmp.h>

#include <cerrno>

#include "deliver.h"
#include "fault_guard.h"
#include "observe_taps.h"
#include "fetch.h"
#include "parse_burst.h"
#include "police.h"
#include "route_switch.h"
#include "security_groups.h"
#include "shape.h"
#include "src_dst_check.h"

namespace venic::fastpath {

namespace {

using vf::counter_add;

// Stages 1-2 in ring order: gather each packet from the descriptor copies,
// hold it in the ring when the outbound allowances are spent, judge its
// descriptors and size.  A packet the driver has not finished publishing,
// or one held, ends the burst; so does a malformed one that trips the VF's
// malicious-driver detection.  Counts what it drops.
void admit(const PortView& port, vf::TxqRuntime& tq, Burst& b) {
  const DescMemory mem = memory_of(port);
  Shaper shaper(port, tq, b);
  uint32_t i = 0;
  b.npkt = 0;
  while (i < b.ndesc) {
    BurstPacket& p = b.p[b.npkt];
    p.tx.segs = &b.seg[i];
    if (!gather_tx_packet(mem, b.d, b.ndesc, i, p.tx)) break;
    const int invalid = invalid_reason(port, p.tx);
    // Only frames that may leave are shaped: runts and oversize frames (which
    // could exceed a bucket's depth and be held for ever) are dropped below.
    if (shaper.active() && invalid < 0 && !shaper.admit(p.tx.total, tq.cons + i)) break;
    p.first = i;
    p.hdr_len = 0;  // (parsed only if it lives)
    p.drop = -1;
    p.exceeded = -1;
    i = p.tx.end + 1;
    b.consumed = i;
    b.npkt++;
    if (invalid >= 0) {
      p.drop_as(invalid);
      counter_add(tq.c.drops[invalid], 1);
      if (invalid == VENIC_DROP_BAD_DESC) {
        note_bad_desc(port);
        if (port.rt->mdd_tripped.load(std::memory_order_relaxed)) break;
      }
    }
  }
  shaper.finish();
}

// Counts the verdicts of the sender's stages; the packets that pass leave.
// Returns a mask of them (bit k: packet k).
uint64_t account_sent(vf::TxqRuntime& tq, const Burst& b) {
  uint64_t pkts = 0, bytes = 0, zero_copy = 0, sent = 0;
  for (uint32_t k = 0; k < b.npkt; k++) {
    const BurstPacket& p = b.p[k];
    if (p.drop >= 0) {
      if (p.drop != VENIC_DROP_BAD_DESC && p.drop != VENIC_DROP_RUNT && p.drop != VENIC_DROP_OVERSIZE)
        counter_add(tq.c.drops[p.drop], 1);  // (admit counted those)
      continue;
    }
    if (p.exceeded >= 0) {
      counter_add(tq.c.allowance[p.exceeded], 1);
      continue;
    }
    pkts++;
    bytes += p.tx.total;
    zero_copy += p.tx.zero_copy;
    sent |= uint64_t{1} << k;
  }
  if (pkts) {
    counter_add(tq.c.pkts, pkts);
    counter_add(tq.c.bytes, bytes);
    if (zero_copy) counter_add(tq.c.zero_copy_pkts, zero_copy);
  }
  return sent;
}

// The burst and its deliveries, per worker, outside the guarded frame, so a
// jump back after a fault finds them intact.
thread_local Burst t_burst;
thread_local Delivery t_delivery;
// Descriptors of the current burst the sender's ring moves past after a
// fault in a receiver's memory (Delivery::progress, read after the jump).
thread_local uint32_t t_progress = 0;

// One burst of port's TX queue q through every stage.
uint32_t tx_burst(const Snapshot& snap, const PortView& port, uint32_t q) {
  vf::TxqRuntime& tq = port.rt->txq[q];
  Burst& b = t_burst;
  if (fetch_descriptors(port, q, b) == 0) return 0;
  b.now = rte_rdtsc();
  b.consumed = 0;
  b.from_services = b.from_internet = false;
  admit(port, tq, b);  // fetch, validate, shape
  if (b.npkt) {
    parse_burst(b);               // header copies, L2-L4
    check_sources(port, b);       // source check, what a VPC carries
    egress_groups(port, b);       // security groups, out
    police_burst(snap, port, b);  // link-local PPS, per-flow cap
    const uint64_t sent = account_sent(tq, b);
    Delivery& out = t_delivery;
    out.begin(b);
    route_burst(snap, port, b, out);  // VPC router, L2 switch, flood
    for (uint32_t k = 0; k < b.npkt; k++)
      if ((sent >> k & 1) && b.p[k].drop >= 0) counter_add(tq.c.drops[b.p[k].drop], 1);
    out.run();              // destination check, groups in, allowances in, copy
    route_flush();          // what went to other hosts leaves
    observe_sent(port, b);  // flow logs and capture, when on
  }
  const uint32_t consumed = b.consumed;
  if (consumed) {
    tq.cons += consumed;
    __atomic_store_n(&port.q[q].tx_sq->cons, tq.cons, __ATOMIC_RELEASE);
  }
  return consumed;
}

// A driver can truncate the file behind memory it registered; touching it
// then raises SIGBUS.  The worker survives that: common/fault_guard jumps
// back to the burst's guard, which resets the VF that owns the memory.

// Set on rte_vhost's own threads (patch_peer_faults_on_this_thread): bridge
// calls there patch faults too, outside call_bridge.
thread_local bool t_always_patch = false;

bool owns(const PortView* p, uintptr_t addr) {
  if (!p) return false;
  for (uint32_t i = 0; i < p->n_dma; i++) {
    auto base = reinterpret_cast<uintptr_t>(p->dma[i].base);
    if (addr >= base && addr - base < p->dma[i].len) return true;
  }
  return false;
}

}  // namespace

uint32_t worker_take_rx_full() {
  return t_delivery.take_rx_full();
}

void worker_thread_use_flows(FlowMeter* flows) {
  police_use_flows(flows);
}

void install_fault_guard() {
  common::install_fault_guard();
}

void patch_peer_faults_on_this_thread() {
  t_always_patch = true;
  common::set_fault_patching(true);
}

uint32_t call_bridge(vf::Bridge& bridge, uint32_t (vf::Bridge::*call)(uint32_t), uint32_t q) {
  common::take_patched_fault();
  common::set_fault_patching(true);
  const uint32_t n = (bridge.*call)(q);
  common::set_fault_patching(t_always_patch);
  if (common::take_patched_fault()) bridge.peer_memory_faulted();
  return n;
}

namespace {

// One frame from outside the TX rings for dst: the receiver's stages only.
// services: the VPC's own answers or, with internet, a gateway's frame;
// neither: a frame from sender_net's ENI on another host.
bool deliver_frame(const PortView* dst, const uint8_t* frame, uint32_t len, bool services, bool internet,
                   const SubnetView* sender_net) {
  if (!dst || len < 14 || len > VENIC_FRAME_MAX) return false;
  Burst& b = t_burst;
  b.now = rte_rdtsc();
  b.ndesc = b.npkt = 1;
  b.consumed = 0;
  b.from_services = services;
  b.from_internet = internet;
  b.sender_net = sender_net;
  b.seg[0] = {frame, len};
  BurstPacket& p = b.p[0];
  p.tx.segs = &b.seg[0];
  p.tx.nseg = 1;
  p.tx.end = 0;
  p.tx.total = len;
  p.tx.bad = false;
  p.tx.zero_copy = false;
  p.first = 0;
  p.drop = -1;
  p.exceeded = -1;
  sigjmp_buf env;
  if (sigsetjmp(env, 0) != 0) {
    // Only the receiver's memory is touched here: it is the culprit.
    const PortView* receiver = t_delivery.writing();
    t_delivery.abandon(true);
    if (receiver) receiver->rt->mdd_tripped.store(true, std::memory_order_release);
    t_burst.from_services = t_burst.from_internet = false;
    return false;
  }
  common::arm_fault_guard(&env);
  parse_burst(b);
  Delivery& out = t_delivery;
  out.begin(b);
  const bool planned = out.plan(*dst, 0);
  out.run();
  common::disarm_fault_guard();
  b.from_services = b.from_internet = false;
  return planned;
}

}  // namespace

bool deliver_from_services(const Snapshot& snap, uint16_t vf, const uint8_t* frame, uint32_t len, InjectFrom from) {
  return deliver_frame(snap.polled_port(vf), frame, len, true, from == InjectFrom::kInternet, nullptr);
}

bool deliver_from_underlay(const PortView& dst, const PortView* from, const uint8_t* frame, uint32_t len) {
  if (!dst.polled || dst.remote) return false;
  return deliver_frame(&dst, frame, len, false, false, from ? from->net : nullptr);
}

uint32_t process_tx_burst(const Snapshot& snap, const PortView& port_ref, uint32_t q_arg) {
  if (port_ref.rt->mdd_tripped.load(std::memory_order_relaxed)) return 0;
  const PortView* volatile port = &port_ref;  // these survive the jump back
  volatile uint32_t q = q_arg;
  sigjmp_buf env;
  if (sigsetjmp(env, 0) != 0) {
    // Blame whoever registered the faulting memory: the sender or the receiver.
    const PortView* receiver = t_delivery.writing();
    const PortView* culprit = owns(port, common::last_fault_address()) ? port : receiver;
    // A receiver whose memory is gone gets nothing published on the queue
    // being written; every other queue's completed frames are its own.
    t_delivery.abandon(culprit == receiver);
    if (culprit) culprit->rt->mdd_tripped.store(true, std::memory_order_release);
    t_progress = t_delivery.progress();
    if (culprit != port && t_progress) {
      // The receiver faulted: the sender's frames up to this one are done
      // (the faulting one is lost), so none is delivered twice.
      vf::TxqRuntime& tq = port->rt->txq[q];
      tq.cons += t_progress;
      __atomic_store_n(&port->q[q].tx_sq->cons, tq.cons, __ATOMIC_RELEASE);
    }
    return 0;
  }
  t_progress = 0;
  common::arm_fault_guard(&env);
  uint32_t n = tx_burst(snap, *port, q);
  common::disarm_fault_guard();
  return n;
}

}  // namespace venic::fastpath
