#include "worker.h"

#include <rte_atomic.h>
#include <netinet/in.h>
#include <rte_cycles.h>
#include <rte_memcpy.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "conntrack.h"
#include "desc_check.h"
#include "fault_guard.h"
#include "flow_meter.h"
#include "l4_checksum.h"
#include "packet_parser.h"
#include "rss.h"
#include "sg_scope.h"
#include "vpc_router.h"

namespace venic::fastpath {

namespace {

using vf::counter_add;

// What that VF's descriptors may name (its own buffer area, or memory it registered).
DescMemory memory_of(const PortView& p) {
  return {p.base, p.buf_lo, p.buf_hi, p.dma, p.n_dma};
}

void note_bad_desc(const PortView& p, uint32_t n = 1) {
  if (p.rt->bad_desc.fetch_add(n, std::memory_order_relaxed) + n >= vf::kMddThreshold)
    p.rt->mdd_tripped.store(true, std::memory_order_release);
}

// Reads a frame as: the private header copy, then the rest of its segments.
class FrameReader {
 public:
  FrameReader(const uint8_t* hdr, uint32_t hdr_len, const Segment* segs, uint32_t nseg)
      : hdr_(hdr), hdr_len_(hdr_len), segs_(segs), nseg_(nseg) {}

  void copy_to(uint8_t* dst, uint32_t len) {
    while (len) {
      if (pos_ < hdr_len_) {
        uint32_t n = std::min(len, hdr_len_ - pos_);
        rte_memcpy(dst, hdr_ + pos_, n);
        advance(n);
        dst += n;
        len -= n;
        continue;
      }
      const Segment& s = segs_[seg_];
      uint32_t n = std::min(len, s.len - seg_off_);
      rte_memcpy(dst, s.ptr + seg_off_, n);
      advance(n);
      dst += n;
      len -= n;
    }
  }
  void rewind() { pos_ = seg_ = seg_off_ = 0; }
  const uint8_t* header() const { return hdr_; }
  // The whole frame of len bytes is in the private header copy (small frames).
  bool in_header(uint32_t len) const { return len <= hdr_len_; }

 private:
  void advance(uint32_t n) {
    pos_ += n;
    seg_off_ += n;
    while (seg_ < nseg_ && seg_off_ >= segs_[seg_].len) {
      seg_off_ -= segs_[seg_].len;
      seg_++;
    }
  }
  const uint8_t* hdr_;
  uint32_t hdr_len_;
  const Segment* segs_;
  uint32_t nseg_;
  uint32_t pos_ = 0, seg_ = 0, seg_off_ = 0;
};

// Frames this thread dropped because the destination had no RX buffer.
thread_local uint32_t t_rx_full = 0;

// Holds one destination RX queue locked while consecutive packets go to it,
// and publishes its completions once when the destination changes.
class RxBatch {
 public:
  const PortView* port() const { return port_; }

  // The clock the allowances are refilled to (one reading per burst).
  void set_now(uint64_t now) { now_ = now; }

  bool open(const PortView& dst, uint32_t q) {
    if (port_ == &dst && q_ == q) return true;
    flush();
    port_ = &dst;
    q_ = q;
    rq_ = &dst.rt->rxq[q];
    rq_->lock.lock();
    if (dst.policed_in) {
      // Inside the queue lock; a leaf: nothing else is taken while held.
      allow_ = &dst.rt->allowance;
      allow_->lock.lock();
      if (dst.allow.bw_in.limited()) allow_->bw_in.refill(dst.allow.bw_in, now_);
      if (dst.allow.pps.limited()) allow_->pps.refill(dst.allow.pps, now_);
    }
    sq_prod_ = __atomic_load_n(&dst.q[q].rx_sq->prod, __ATOMIC_ACQUIRE);
    if (sq_prod_ - rq_->cons > dst.ring_size) {
      // The driver's producer index is impossible: post nothing this round.
      note_bad_desc(dst);
      sq_prod_ = rq_->cons;
    }
    return true;
  }

  // Counts a frame the open queue refuses (under its lock, like deliveries).
  void drop(int reason) { counter_add(rq_->c.drops[reason], 1); }
  void exceeded(int allowance) { counter_add(rq_->c.allowance[allowance], 1); }
  uint64_t now() const { return now_; }

  void deliver(FrameReader& frame, uint32_t len, const ParsedPacket& pkt, RssHash rss) {
    const uint16_t ptype = pkt.ptype();
    const PortView& dst = *port_;
    vf::RxqRuntime& rq = *rq_;
    const QueueRings& rings = dst.q[q_];
    const uint32_t mask = dst.ring_size - 1;
    if (len > dst.frame_max) {
      counter_add(rq.c.drops[VENIC_DROP_RX_OVERSIZE], 1);
      return;
    }
    if (allow_ && !within_allowance(dst, len)) return;
    frame.rewind();
    uint32_t idx = rq.cons, left = len;
    bool zero_copy = true;
    Chunk written[VENIC_MAX_SEGS];
    while (left) {
      if (idx == sq_prod_ || idx - rq.cons >= VENIC_MAX_SEGS) {
        counter_add(rq.c.drops[VENIC_DROP_RX_NO_BUFFER], 1);
        t_rx_full++;
        return;  // nothing published: the entries written so far are reused
      }
      venic_desc d = rings.rx_desc[idx & mask];  // one read, then only the copy
      rte_compiler_barrier();                    // ...which the compiler may not replace by re-reads
      const uint8_t* buf = translate(memory_of(dst), d);
      if (!buf) {
        note_bad_desc(dst);
        counter_add(rq.c.drops[VENIC_DROP_BAD_DESC], 1);
        return;
      }
      uint32_t n = std::min(left, d.len);
      if (n == len && frame.in_header(len))
        rte_memcpy(const_cast<uint8_t*>(buf), frame.header(), len);  // small frames: one copy, no walk
      else
        frame.copy_to(const_cast<uint8_t*>(buf), n);
      written[idx - rq.cons] = {buf, n};
      left -= n;
      zero_copy = zero_copy && d.mem_id != VENIC_MEM_REGION_BUFS;
      venic_cqe& c = rings.rx_cqe[idx & mask];
      c.len = n;
      c.flags = (left ? VENIC_CQE_F_MORE : 0) | (rss.valid ? VENIC_CQE_F_RSS_HASH : 0) | pkt.l3_csum;
      c.ptype = ptype;
      c.rss_hash = rss.value;
      c.reserved = 0;
      idx++;
    }
    if (dst.rx_l4_csum) {
      // Over what the receiver got, not what the sender still holds.
      const uint16_t verdict = l4_csum_verdict(pkt, frame.header(), written, idx - rq.cons, len);
      for (uint32_t k = rq.cons; k != idx; k++) rings.rx_cqe[k & mask].flags |= verdict;
    }
    rq.cons = idx;
    dirty_ = true;
    counter_add(rq.c.pkts, 1);
    counter_add(rq.c.bytes, len);
    if (zero_copy) counter_add(rq.c.zero_copy_pkts, 1);
  }

  // After a fault inside a copy: release the queue, publish nothing.
  void abandon() {
    if (!port_) return;
    release_allowance();
    rq_->lock.unlock();
    port_ = nullptr;
    dirty_ = false;
  }

  void flush() {
    if (!port_) return;
    if (dirty_) {
      const QueueRings& rings = port_->q[q_];
      __atomic_store_n(&rings.rx_cq->prod, rq_->cons, __ATOMIC_RELEASE);
      __atomic_store_n(&rings.rx_sq->cons, rq_->cons, __ATOMIC_RELEASE);
    }
    release_allowance();
    rq_->lock.unlock();
    port_ = nullptr;
    dirty_ = false;
  }

 private:
  // Inbound allowances: what exceeds them is dropped and counted (ENA's
  // bw_in_allowance_exceeded / pps_allowance_exceeded).
  bool within_allowance(const PortView& dst, uint32_t len) {
    if (dst.allow.pps.limited() && !allow_->pps.take(dst.allow.pps, 1)) {
      counter_add(rq_->c.allowance[VENIC_ALLOW_PPS], 1);
      return false;
    }
    if (dst.allow.bw_in.limited() && !allow_->bw_in.take(dst.allow.bw_in, len)) {
      if (dst.allow.pps.limited()) allow_->pps.give_back(dst.allow.pps, 1);
      counter_add(rq_->c.allowance[VENIC_ALLOW_BW_IN], 1);
      return false;
    }
    return true;
  }
  void release_allowance() {
    if (allow_) allow_->lock.unlock();
    allow_ = nullptr;
  }

  const PortView* port_ = nullptr;
  uint32_t q_ = 0;
  vf::RxqRuntime* rq_ = nullptr;
  vf::AllowanceRuntime* allow_ = nullptr;
  uint64_t now_ = 0;
  uint32_t sq_prod_ = 0;
  bool dirty_ = false;
};

bool ipv6_link_local(const uint8_t* a) {
  return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}
bool ipv6_unspecified(const uint8_t* a) {
  for (int i = 0; i < 16; i++)
    if (a[i]) return false;
  return true;
}

// Source check (EC2 semantics): a VF sends only from its own MAC and its own
// addresses (ARP included); 0.0.0.0 is allowed for DHCP and ARP probes.
int source_violation(const PortView& p, const ParsedPacket& pkt) {
  if (!p.src_dst_check) return -1;
  if (std::memcmp(pkt.src_mac, p.mac.data(), 6) != 0) return VENIC_DROP_SPOOF_MAC;
  const bool ip_like = pkt.l3 == L3::kIpv4 || pkt.l3 == L3::kIpv6 || pkt.l3 == L3::kArp;
  if (ip_like && !pkt.l3_addresses) return VENIC_DROP_SPOOF_IP;  // a source that cannot be checked
  if (pkt.l3 == L3::kIpv4 && pkt.src_ip4 != 0 && !p.owns_ip(pkt.src_ip4)) return VENIC_DROP_SPOOF_IP;
  if (pkt.l3 == L3::kArp && pkt.arp_sender != 0 && !p.owns_ip(pkt.arp_sender)) return VENIC_DROP_SPOOF_IP;
  // IPv6: its own addresses, link-local (neighbour discovery) and :: (DAD).
  if (pkt.l3 == L3::kIpv6 && !ipv6_link_local(pkt.src_ip6) && !ipv6_unspecified(pkt.src_ip6) &&
      !p.owns_ipv6(pkt.src_ip6))
    return VENIC_DROP_SPOOF_IP;
  return -1;
}

// Destination check: unicast IPv4 reaches a checked VF only for its own
// addresses; broadcast, multicast and non-IP frames pass as on a real VF.
bool destination_allowed(const PortView& dst, const ParsedPacket& pkt) {
  if (!dst.src_dst_check || pkt.is_multicast()) return true;
  if ((pkt.l3 == L3::kIpv4 || pkt.l3 == L3::kIpv6) && !pkt.l3_addresses) return false;
  if (pkt.l3 == L3::kIpv6) return pkt.dst_ip6[0] == 0xff || ipv6_link_local(pkt.dst_ip6) || dst.owns_ipv6(pkt.dst_ip6);
  if (pkt.l3 != L3::kIpv4) return true;
  const uint32_t a = pkt.dst_ip4;
  if (a == 0xffffffffu || (a >> 28) == 0xe) return true;  // limited broadcast, 224.0.0.0/4
  const uint32_t mask = dst.prefix == 0 ? 0 : ~0u << (32 - dst.prefix);
  if ((a & ~mask) == ~mask && (a & mask) == dst.subnet) return true;  // subnet broadcast
  return dst.owns_ip(a);
}

// EC2's link-local services (Amazon DNS, instance metadata, time sync) live
// in 169.254.0.0/16 and fd00:ec2::/32.
bool link_local_service4(uint32_t a) {
  return (a >> 16) == 0xa9fe;
}
bool link_local_service6(const uint8_t* a) {
  return a[0] == 0xfd && a[1] == 0x00 && a[2] == 0x0e && a[3] == 0xc2;
}
bool to_link_local_service(const ParsedPacket& pkt) {
  if (!pkt.l3_addresses) return false;
  if (pkt.l3 == L3::kIpv4) return link_local_service4(pkt.dst_ip4);
  if (pkt.l3 == L3::kIpv6) return link_local_service6(pkt.dst_ip6);
  return false;
}

enum class SgVerdict : uint8_t { kPass, kDenied, kConntrackFull };

// One crossing of port's security groups: a tracked flow passes; a new one
// passes when the direction's rules allow it, and is then tracked unless
// EC2 would leave it untracked (0.0.0.0/0 both ways, all ports).
SgVerdict security_groups(const PortView& port, const ParsedPacket& pkt, CtDir dir, uint64_t now) {
  if (!port.sg.enforced || (pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6)) return SgVerdict::kPass;
  if (!pkt.l3_addresses) return SgVerdict::kDenied;  // an IP header too short to judge
  if (outside_security_groups(pkt, dir, port.gateway)) return SgVerdict::kPass;
  CtKey key;
  // A later fragment carries no ports: its first fragment was judged.
  if (!ct_key(pkt, port.vf, dir, key)) return SgVerdict::kPass;
  const vf::ConntrackTimeouts& t = port.sg.timeouts;
  if (port.ct && port.ct->refresh(key, dir, pkt.tcp_flags, t, now)) return SgVerdict::kPass;
  vf::SgPacket sp;
  sp.family = key.family;
  sp.proto = key.proto;
  sp.remote = key.remote;
  sp.port = pkt.dst_port;  // ingress: the local port; egress: the remote one
  sp.icmp_type = pkt.icmp_type;
  sp.icmp_code = pkt.icmp_code;
  const bool out = dir == CtDir::kOut;
  const vf::RuleVerdict v = vf::evaluate(out ? port.sg.egress : port.sg.ingress, sp);
  if (!v.allowed) return SgVerdict::kDenied;
  if (v.any_peer && (key.proto == IPPROTO_TCP || key.proto == IPPROTO_UDP)) {
    const uint8_t bit = key.family == 4 ? (key.proto == IPPROTO_TCP ? kOpenTcp4 : kOpenUdp4)
                                        : (key.proto == IPPROTO_TCP ? kOpenTcp6 : kOpenUdp6);
    if ((out ? port.open_in : port.open_out) & bit) return SgVerdict::kPass;  // untracked
  }
  if (!port.ct || !port.ct->add(key, dir, pkt.tcp_flags, t, now)) return SgVerdict::kConntrackFull;
  return SgVerdict::kPass;
}

thread_local FlowMeter* t_flows = nullptr;

// Egress allowances that drop (the link-local PPS and the per-flow cap);
// returns the venic_allowance exceeded, or -1.
int egress_policed(const PortView& port, const ParsedPacket& pkt, uint32_t len, uint64_t now) {
  if (pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6) return -1;
  vf::AllowanceRuntime& al = port.rt->allowance;
  if (to_link_local_service(pkt)) {
    al.linklocal.refill(port.allow.linklocal, now);
    if (!al.linklocal.take(port.allow.linklocal, 1)) return VENIC_ALLOW_LINKLOCAL;
  }
  if (!port.allow.flow.limited() || !t_flows) return -1;
  if (FlowMeter::gate_passes(al.flow_gate, port.allow.flow, now, len)) return -1;
  FlowKey key;
  if (flow_key(pkt, port.vf, key) && !t_flows->conform_flow(key, al.flow_gate.epoch, port.allow.flow, now, len))
    return VENIC_ALLOW_FLOW;
  return -1;
}

// False when the destination takes nothing now (stopped, or being reset).
bool deliver_to(RxBatch& batch, const PortView& dst, FrameReader& frame, uint32_t len, const ParsedPacket& pkt) {
  if (dst.active_qps == 0 || dst.rt->mdd_tripped.load(std::memory_order_relaxed)) return false;
  RssHash h = rss_hash(dst.rss, pkt);
  batch.open(dst, rss_queue(dst.rss, h, dst.active_qps));
  if (!destination_allowed(dst, pkt)) {
    batch.drop(VENIC_DROP_DST_CHECK);
    return true;
  }
  switch (security_groups(dst, pkt, CtDir::kIn, batch.now())) {
    case SgVerdict::kDenied:
      batch.drop(VENIC_DROP_SG_INGRESS);
      return true;
    case SgVerdict::kConntrackFull:
      batch.exceeded(VENIC_ALLOW_CONNTRACK);
      return true;
    case SgVerdict::kPass:
      break;
  }
  batch.deliver(frame, len, pkt, h);
  return true;
}

// Descriptors of the current burst handled so far (read after a fault).
thread_local uint32_t t_progress = 0;

uint32_t tx_burst(const Snapshot& snap, const PortView& port, uint32_t q, RxBatch& batch) {
  vf::TxqRuntime& tq = port.rt->txq[q];
  const QueueRings& rings = port.q[q];
  const uint32_t mask = port.ring_size - 1;
  const uint32_t prod = __atomic_load_n(&rings.tx_sq->prod, __ATOMIC_ACQUIRE);
  const uint32_t avail = prod - tq.cons;
  if (avail == 0) return 0;
  if (avail > port.ring_size) {
    note_bad_desc(port, vf::kMddThreshold);  // an impossible index: reset the VF
    return 0;
  }
  const uint32_t n = std::min(avail, kBurstDescs);
  venic_desc d[kBurstDescs];
  // Copy the descriptors out once; only the copies are validated and used.
  for (uint32_t i = 0; i < n; i++) d[i] = rings.tx_desc[(tq.cons + i) & mask];
  rte_compiler_barrier();  // the copies are used from here on, never re-read

  // Outbound allowances shape: a packet over them stays in the ring (as ENA
  // queues it) until the buckets refill.  PPS tokens for the burst are
  // reserved up front, so the shared PPS bucket is locked once per burst.
  const uint64_t now = rte_rdtsc();
  batch.set_now(now);
  vf::AllowanceRuntime& al = port.rt->allowance;
  const vf::AllowanceProfile& ap = port.allow;
  uint64_t pps_left = UINT64_MAX;
  if (port.shaped_out) {
    if (ap.bw_out.limited()) al.bw_out.refill(ap.bw_out, now);
    if (ap.pps.limited()) {
      // One token per complete packet in the burst, and never the last
      // quarter of the bucket: a backlogged sender must not starve the
      // VF's inbound traffic of the PPS they share.
      uint32_t packets = 0;
      for (uint32_t k = 0; k < n; k++) packets += (d[k].flags & VENIC_DESC_F_MORE) == 0;
      al.lock.lock();
      al.pps.refill(ap.pps, now);
      pps_left = al.pps.take_up_to(ap.pps, packets, ap.pps.depth_units / 4);
      al.lock.unlock();
    }
  }

  // Most bursts go to one destination: remember the last lookup.
  uint8_t mac_cache[6];
  const uint8_t* last_mac = nullptr;
  const PortView* last_dst = nullptr;
  const DescMemory mem = memory_of(port);
  uint32_t i = 0, consumed = 0;
  while (i < n) {
    // Wait for the rest of a packet the driver has not finished publishing.
    TxPacket tx;
    if (!gather_tx_packet(mem, d, n, i, tx)) break;
    const uint32_t end = tx.end, nseg = tx.nseg, total = tx.total;
    const bool bad = tx.bad, zero_copy = tx.zero_copy;
    const Segment* segs = tx.segs;
    // Only frames that may leave are shaped: runts and oversize frames (which
    // could exceed a bucket's depth and be held for ever) are dropped below.
    if (port.shaped_out && !bad && total >= 14 && total <= port.frame_max) {
      int held = -1;
      if (pps_left == 0)
        held = VENIC_ALLOW_PPS;
      else if (ap.bw_out.limited() && !al.bw_out.take(ap.bw_out, total))
        held = VENIC_ALLOW_BW_OUT;
      if (held >= 0) {
        if (!tq.holding || tq.held_at != tq.cons + i) counter_add(tq.c.allowance[held], 1);
        tq.holding = true;
        tq.held_at = tq.cons + i;
        break;
      }
      if (pps_left != UINT64_MAX) pps_left--;
    }
    i = end + 1;
    consumed = i;
    t_progress = consumed;
    if (bad) {
      counter_add(tq.c.drops[VENIC_DROP_BAD_DESC], 1);
      note_bad_desc(port);
      if (port.rt->mdd_tripped.load(std::memory_order_relaxed)) break;
      continue;
    }
    if (total < 14) {
      counter_add(tq.c.drops[VENIC_DROP_RUNT], 1);
      continue;
    }
    if (total > port.frame_max) {
      counter_add(tq.c.drops[VENIC_DROP_OVERSIZE], 1);
      continue;
    }
    // Decisions are made on a private copy of the headers, which is also what
    // the receiver gets, so a driver rewriting its buffer cannot split them.
    uint8_t hdr[kHeaderCopy];
    const uint32_t hdr_len = std::min(total, kHeaderCopy);
    if (hdr_len <= segs[0].len) {
      rte_memcpy(hdr, segs[0].ptr, hdr_len);
    } else {
      FrameReader frame(hdr, 0, segs, nseg);
      frame.copy_to(hdr, hdr_len);
    }
    FrameReader out(hdr, hdr_len, segs, nseg);
    ParsedPacket pkt;
    parse_packet({hdr, hdr_len}, total, pkt);

    if (int reason = source_violation(port, pkt); reason >= 0) {
      counter_add(tq.c.drops[reason], 1);
      continue;
    }
    if ((port.vpc || port.sg.enforced) && !vpc_carries(pkt)) {
      counter_add(tq.c.drops[VENIC_DROP_ETHERTYPE], 1);
      continue;
    }
    if (const SgVerdict sg = security_groups(port, pkt, CtDir::kOut, now); sg != SgVerdict::kPass) {
      if (sg == SgVerdict::kDenied)
        counter_add(tq.c.drops[VENIC_DROP_SG_EGRESS], 1);
      else
        counter_add(tq.c.allowance[VENIC_ALLOW_CONNTRACK], 1);
      continue;
    }
    if (int exceeded = egress_policed(port, pkt, total, now); exceeded >= 0) {
      counter_add(tq.c.allowance[exceeded], 1);
      continue;
    }
    counter_add(tq.c.pkts, 1);
    counter_add(tq.c.bytes, total);
    if (zero_copy) counter_add(tq.c.zero_copy_pkts, 1);

    if (port.vpc) {
      uint8_t answer[kAnswerMax];
      const VpcVerdict v = vpc_forward(snap, port, pkt, hdr, hdr_len, answer);
      if (v.kind == VpcVerdict::Kind::kAnswer) {
        ParsedPacket ap;
        parse_packet({answer, v.answer_len}, v.answer_len, ap);
        FrameReader reply(answer, v.answer_len, nullptr, 0);
        deliver_to(batch, port, reply, v.answer_len, ap);
        continue;
      }
      if (v.kind == VpcVerdict::Kind::kDrop) {
        counter_add(tq.c.drops[v.drop], 1);
        continue;
      }
      if (v.kind == VpcVerdict::Kind::kRouted) {
        if (!v.dst->polled || !deliver_to(batch, *v.dst, out, total, pkt))
          counter_add(tq.c.drops[VENIC_DROP_RX_DOWN], 1);
        continue;
      }
    }
    if (pkt.is_multicast()) {
      for (const PortView* peer : port.flood) deliver_to(batch, *peer, out, total, pkt);
      continue;
    }
    const PortView* dst;
    if (last_mac && std::memcmp(last_mac, pkt.dst_mac, 6) == 0) {
      dst = last_dst;
    } else {
      dst = snap.lookup(port.vpc, port.subnet, port.prefix, pkt.dst_mac);
      std::memcpy(mac_cache, pkt.dst_mac, 6);
      last_mac = mac_cache;
      last_dst = dst;
    }
    if (dst && dst->polled) {
      if (!deliver_to(batch, *dst, out, total, pkt)) counter_add(tq.c.drops[VENIC_DROP_RX_DOWN], 1);
    } else if (dst) {
      counter_add(tq.c.drops[VENIC_DROP_RX_DOWN], 1);
    } else if (!port.promisc_peers.empty()) {
      for (const PortView* peer : port.promisc_peers) deliver_to(batch, *peer, out, total, pkt);
    } else {
      counter_add(tq.c.drops[VENIC_DROP_NO_ROUTE], 1);
    }
  }
  batch.flush();
  if (pps_left != UINT64_MAX && pps_left) {
    al.lock.lock();
    al.pps.give_back(ap.pps, pps_left);  // reserved for packets this burst did not have
    al.lock.unlock();
  }
  if (consumed) {
    tq.cons += consumed;
    __atomic_store_n(&rings.tx_sq->cons, tq.cons, __ATOMIC_RELEASE);
  }
  return consumed;
}

// A driver can truncate the file behind memory it registered; touching it
// then raises SIGBUS.  The worker survives that: common/fault_guard jumps
// back to the burst's guard, which resets the VF that owns the memory.
// Per worker, outside the guarded frame, so a jump back finds it intact.
thread_local RxBatch t_batch;

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
  uint32_t n = t_rx_full;
  t_rx_full = 0;
  return n;
}

void worker_thread_use_flows(FlowMeter* flows) {
  t_flows = flows;
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

uint32_t process_tx_burst(const Snapshot& snap, const PortView& port_ref, uint32_t q_arg) {
  if (port_ref.rt->mdd_tripped.load(std::memory_order_relaxed)) return 0;
  const PortView* volatile port = &port_ref;  // these survive the jump back
  volatile uint32_t q = q_arg;
  sigjmp_buf env;
  if (sigsetjmp(env, 0) != 0) {
    // Blame whoever registered the faulting memory: the sender or the receiver.
    const PortView* culprit = owns(port, common::last_fault_address()) ? port : t_batch.port();
    if (culprit == t_batch.port())
      t_batch.abandon();  // the receiver's memory is gone: publish nothing there
    else
      t_batch.flush();  // the receiver is fine: its completed frames are its own
    if (culprit) culprit->rt->mdd_tripped.store(true, std::memory_order_release);
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
  uint32_t n = tx_burst(snap, *port, q, t_batch);
  common::disarm_fault_guard();
  return n;
}

}  // namespace venic::fastpath
