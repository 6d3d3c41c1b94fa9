#include "deliver.h"

#include <rte_atomic.h>
#include <netinet/in.h>
#include <rte_memcpy.h>

#include <algorithm>

#include "fetch.h"
#include "l4_checksum.h"
#include "network_acl.h"
#include "observe_taps.h"
#include "security_groups.h"
#include "sg_scope.h"
#include "src_dst_check.h"

namespace venic::fastpath {

namespace {

using vf::counter_add;

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

// What the VPC's own services answer with (metadata, time, DNS, DHCP):
// EC2's network ACLs do not filter it.
bool from_vpc_services(const PortView& dst, const ParsedPacket& pkt) {
  if (pkt.l3 == L3::kIpv4) return ec2_service4(pkt.src_ip4) || pkt.src_ip4 == dst.vpc_dns || pkt.src_ip4 == dst.gateway;
  return pkt.l3 == L3::kIpv6 && ec2_service6(pkt.src_ip6);
}

bool neighbour_discovery(const ParsedPacket& pkt) {
  return pkt.l3 == L3::kIpv6 && pkt.ip_proto == IPPROTO_ICMPV6 && pkt.icmp_type >= 133 && pkt.icmp_type <= 137;
}

}  // namespace

void Delivery::begin(Burst& b) {
  b_ = &b;
  n_entries_ = n_queues_ = 0;
  writing_ = nullptr;
  current_queue_ = -1;
  progress_ = 0;
}

int Delivery::queue_index(const PortView& dst, uint32_t q) {
  for (uint32_t i = 0; i < n_queues_; i++)
    if (queues_[i].port == &dst && queues_[i].q == q) return static_cast<int>(i);
  if (n_queues_ == kMaxQueues) return -1;
  queues_[n_queues_] = {&dst, q,     &dst.rt->rxq[q],   dst.policed_in ? &dst.rt->allowance : nullptr,
                        0,    false, observe_wants(dst)};
  return static_cast<int>(n_queues_++);
}

bool Delivery::plan(const PortView& dst, uint32_t k, bool answer) {
  if (dst.active_qps == 0 || dst.rt->mdd_tripped.load(std::memory_order_relaxed)) return false;
  const ParsedPacket& pkt = answer ? b_->answer_pkt[k] : b_->p[k].pkt;
  const RssHash h = rss_hash(dst.rss, pkt);
  const uint32_t q = rss_queue(dst.rss, h, dst.active_qps);
  int qi = n_entries_ < kMaxEntries ? queue_index(dst, q) : -1;
  if (qi < 0) {
    // A plan this large (a flood to many peers): deliver what is planned first.
    run();
    qi = queue_index(dst, q);
  }
  entries_[n_entries_++] = {static_cast<uint16_t>(qi), static_cast<uint8_t>(k), answer, h};
  return true;
}

void Delivery::judge_acl(const PortView& dst, uint32_t first, uint32_t end) {
  // What enters the subnet: from another subnet or VPC, or from a gateway
  // (injected); never the VPC's answers (ARP, ND) nor its services'.
  const NetworkAcl* acl = dst.net ? dst.net->acl_in.get() : nullptr;
  if (!acl || (!b_->from_services && b_->sender_net == dst.net)) return;
  for (uint32_t i = first; i < end; i++) {
    if (verdict_[i] >= 0 || entries_[i].answer) continue;
    const ParsedPacket& pkt = packet_of(entries_[i]);
    if ((b_->from_services && from_vpc_services(dst, pkt)) || neighbour_discovery(pkt)) continue;
    if (!acl->allows(pkt)) verdict_[i] = VENIC_DROP_NACL_INGRESS;
  }
}

void Delivery::judge_run(uint32_t first, uint32_t end) {
  const PortView& dst = *queues_[entries_[first].queue].port;
  judge_acl(dst, first, end);  // before the groups: a denied packet never reaches them
  // A plain VF, or the VPC's own answer; what the internet sends is judged.
  if (!dst.sg.enforced || (b_->from_services && !b_->from_internet)) return;
  const ParsedPacket* pkts[kBurstDescs] = {};
  uint32_t idx[kBurstDescs];
  uint32_t n = 0;
  for (uint32_t i = first; i < end; i++) {
    if (verdict_[i] >= 0) continue;  // the destination check dropped it
    pkts[n] = &packet_of(entries_[i]);
    idx[n++] = i;
  }
  if (n == 0) return;
  SgVerdict v[kBurstDescs];
  ingress_groups(dst, pkts, n, b_->now, v);
  for (uint32_t j = 0; j < n; j++) {
    if (v[j] == SgVerdict::kDenied)
      verdict_[idx[j]] = VENIC_DROP_SG_INGRESS;
    else if (v[j] == SgVerdict::kConntrackFull)
      verdict_[idx[j]] = kExceeded + VENIC_ALLOW_CONNTRACK;
  }
}

void Delivery::judge_receivers() {
  uint32_t run_start = 0;
  for (uint32_t i = 0; i < n_entries_; i++) {
    const Entry& e = entries_[i];
    const PortView& dst = *queues_[e.queue].port;
    verdict_[i] = destination_allowed(dst, packet_of(e)) ? -1 : VENIC_DROP_DST_CHECK;
    // A run is one receiver's consecutive entries, at most a bulk lookup's worth.
    if (i > run_start && (queues_[entries_[run_start].queue].port != &dst || i - run_start == kBurstDescs)) {
      judge_run(run_start, i);
      run_start = i;
    }
  }
  if (n_entries_ > run_start) judge_run(run_start, n_entries_);
}

void Delivery::lock_all() {
  // Address order, queues before allowances (a leaf inside them), each lock once.
  Queue* order[kMaxQueues];
  for (uint32_t i = 0; i < n_queues_; i++) order[i] = &queues_[i];
  std::sort(order, order + n_queues_, [](const Queue* a, const Queue* b) { return a->rq < b->rq; });
  for (uint32_t i = 0; i < n_queues_; i++) {
    Queue& qu = *order[i];
    qu.rq->lock.lock();
    qu.sq_prod = __atomic_load_n(&qu.port->q[qu.q].rx_sq->prod, __ATOMIC_ACQUIRE);
    if (qu.sq_prod - qu.rq->cons > qu.port->ring_size) {
      // The driver's producer index is impossible: post nothing this round.
      note_bad_desc(*qu.port);
      qu.sq_prod = qu.rq->cons;
    }
    qu.dirty = false;
  }
  vf::AllowanceRuntime* allow[kMaxQueues];
  const PortView* allow_port[kMaxQueues];
  uint32_t na = 0;
  for (uint32_t i = 0; i < n_queues_; i++) {
    vf::AllowanceRuntime* a = order[i]->allow;
    if (!a || std::find(allow, allow + na, a) != allow + na) continue;
    allow_port[na] = order[i]->port;
    allow[na++] = a;
  }
  std::sort(allow, allow + na);
  for (uint32_t i = 0; i < na; i++) allow[i]->lock.lock();
  for (uint32_t i = 0; i < na; i++) {
    // Refill each bucket once for the burst (which port it is does not matter: one VF, one profile).
    const PortView& p = *allow_port[i];
    vf::AllowanceRuntime& a = p.rt->allowance;
    if (p.allow.bw_in.limited()) a.bw_in.refill(p.allow.bw_in, b_->now);
    if (p.allow.pps.limited()) a.pps.refill(p.allow.pps, b_->now);
  }
  locked_ = true;
}

void Delivery::unlock_all(int skip_publish) {
  if (!locked_) return;
  vf::AllowanceRuntime* allow[kMaxQueues];
  uint32_t na = 0;
  for (uint32_t i = 0; i < n_queues_; i++) {
    Queue& qu = queues_[i];
    if (qu.allow && std::find(allow, allow + na, qu.allow) == allow + na) allow[na++] = qu.allow;
  }
  for (uint32_t i = 0; i < na; i++) allow[i]->lock.unlock();
  for (uint32_t i = 0; i < n_queues_; i++) {
    Queue& qu = queues_[i];
    if (qu.dirty && static_cast<int>(i) != skip_publish) {
      const QueueRings& rings = qu.port->q[qu.q];
      __atomic_store_n(&rings.rx_cq->prod, qu.rq->cons, __ATOMIC_RELEASE);
      __atomic_store_n(&rings.rx_sq->cons, qu.rq->cons, __ATOMIC_RELEASE);
    }
    qu.rq->lock.unlock();
  }
  locked_ = false;
}

void Delivery::run() {
  if (n_entries_ == 0) {
    n_queues_ = 0;
    return;
  }
  judge_receivers();
  lock_all();
  for (uint32_t i = 0; i < n_entries_; i++) {
    const Entry& e = entries_[i];
    Queue& qu = queues_[e.queue];
    progress_ = std::max(progress_, b_->p[e.k].tx.end + 1);
    const PortView& dst = *qu.port;
    int verdict;
    if (verdict_[i] >= kExceeded) {
      counter_add(qu.rq->c.allowance[verdict_[i] - kExceeded], 1);
      verdict = kCaptureAllowance + verdict_[i] - kExceeded;
    } else if (verdict_[i] >= 0) {
      counter_add(qu.rq->c.drops[verdict_[i]], 1);
      verdict = verdict_[i];
    } else {
      current_queue_ = e.queue;
      writing_ = &dst;
      verdict = deliver_one(qu, e);
      writing_ = nullptr;
      current_queue_ = -1;
    }
    if (qu.observed) observe_received(dst, *b_, e.k, e.answer, verdict);
  }
  unlock_all(-1);
  n_entries_ = n_queues_ = 0;
}

void Delivery::abandon(bool receiver_faulted) {
  unlock_all(receiver_faulted ? current_queue_ : -1);
  n_entries_ = n_queues_ = 0;
  writing_ = nullptr;
  current_queue_ = -1;
}

uint32_t Delivery::take_rx_full() {
  const uint32_t n = rx_full_;
  rx_full_ = 0;
  return n;
}

int Delivery::within_allowance(Queue& qu, uint32_t len) {
  const PortView& dst = *qu.port;
  vf::AllowanceRuntime& a = *qu.allow;
  if (dst.allow.pps.limited() && !a.pps.take(dst.allow.pps, 1)) {
    counter_add(qu.rq->c.allowance[VENIC_ALLOW_PPS], 1);
    return VENIC_ALLOW_PPS;
  }
  if (dst.allow.bw_in.limited() && !a.bw_in.take(dst.allow.bw_in, len)) {
    if (dst.allow.pps.limited()) a.pps.give_back(dst.allow.pps, 1);
    counter_add(qu.rq->c.allowance[VENIC_ALLOW_BW_IN], 1);
    return VENIC_ALLOW_BW_IN;
  }
  return -1;
}

int Delivery::deliver_one(Queue& qu, const Entry& e) {
  const BurstPacket& p = b_->p[e.k];
  const uint32_t len = e.answer ? b_->answer_len[e.k] : p.tx.total;
  FrameReader frame =
      e.answer ? FrameReader(b_->answer[e.k], len, nullptr, 0) : FrameReader(p.hdr, p.hdr_len, p.tx.segs, p.tx.nseg);
  const ParsedPacket& pkt = e.answer ? b_->answer_pkt[e.k] : p.pkt;
  const PortView& dst = *qu.port;
  vf::RxqRuntime& rq = *qu.rq;
  const QueueRings& rings = dst.q[qu.q];
  const uint32_t mask = dst.ring_size - 1;
  if (len > dst.frame_max) {
    counter_add(rq.c.drops[VENIC_DROP_RX_OVERSIZE], 1);
    return VENIC_DROP_RX_OVERSIZE;
  }
  if (qu.allow) {
    const int exceeded = within_allowance(qu, len);
    if (exceeded >= 0) return kCaptureAllowance + exceeded;
  }
  uint32_t idx = rq.cons, left = len;
  bool zero_copy = true;
  Chunk written[VENIC_MAX_SEGS];
  while (left) {
    if (idx == qu.sq_prod || idx - rq.cons >= VENIC_MAX_SEGS) {
      counter_add(rq.c.drops[VENIC_DROP_RX_NO_BUFFER], 1);
      rx_full_++;
      return VENIC_DROP_RX_NO_BUFFER;  // nothing published: the entries written so far are reused
    }
    venic_desc d = rings.rx_desc[idx & mask];  // one read, then only the copy
    rte_compiler_barrier();                    // ...which the compiler may not replace by re-reads
    const uint8_t* buf = translate(memory_of(dst), d);
    if (!buf) {
      note_bad_desc(dst);
      counter_add(rq.c.drops[VENIC_DROP_BAD_DESC], 1);
      return VENIC_DROP_BAD_DESC;
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
    c.flags = (left ? VENIC_CQE_F_MORE : 0) | (e.rss.valid ? VENIC_CQE_F_RSS_HASH : 0) | pkt.l3_csum;
    c.ptype = pkt.ptype();
    c.rss_hash = e.rss.value;
    c.reserved = 0;
    idx++;
  }
  if (dst.rx_l4_csum) {
    // Over what the receiver got, not what the sender still holds.
    const uint16_t verdict = l4_csum_verdict(pkt, frame.header(), written, idx - rq.cons, len);
    for (uint32_t k = rq.cons; k != idx; k++) rings.rx_cqe[k & mask].flags |= verdict;
  }
  rq.cons = idx;
  qu.dirty = true;
  counter_add(rq.c.pkts, 1);
  counter_add(rq.c.bytes, len);
  if (zero_copy) counter_add(rq.c.zero_copy_pkts, 1);
  return -1;
}

}  // namespace venic::fastpath
