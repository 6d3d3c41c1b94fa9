#include "vhost_port.h"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_vhost.h>

#include <algorithm>
#include <stdexcept>

namespace venic::frontend {

namespace {

using vf::counter_add;
using vf::counter_read;

constexpr uint32_t kBurst = 32;
// Per queue pair: buffers kept posted on the VF's RX SQ, and TX descriptors
// in flight (a burst's worth of jumbo frames fits several times).
constexpr uint32_t kRxPosted = 256;
constexpr uint32_t kTxInflight = 256;
constexpr uint16_t kDataRoom = RTE_MBUF_DEFAULT_BUF_SIZE;  // 2048 B + headroom
// Descriptors one frame needs at most (a 9019-byte frame in 2 KiB mbufs).
constexpr uint32_t kSegsPerFrame =
    (VENIC_FRAME_MAX + (kDataRoom - RTE_PKTMBUF_HEADROOM) - 1) / (kDataRoom - RTE_PKTMBUF_HEADROOM);
static_assert(kSegsPerFrame <= VENIC_MAX_SEGS);

uint32_t load_acquire(const uint32_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
void store_release(uint32_t* p, uint32_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

void add_chunk(rte_mempool*, void* opaque, rte_mempool_memhdr* hdr, unsigned) {
  auto* out = static_cast<std::vector<std::pair<uint8_t*, uint64_t>>*>(opaque);
  out->emplace_back(static_cast<uint8_t*>(hdr->addr), hdr->len);
}

}  // namespace

VhostPort::VhostPort(uint16_t vf_id, uint32_t queues) : vf_id_(vf_id), q_(queues) {
  static std::atomic<uint64_t> serial{0};
  std::string name = "vhost" + std::to_string(vf_id) + "_" + std::to_string(serial++);
  const unsigned n = queues * (kRxPosted + kTxInflight + kBurst * kSegsPerFrame) + 256;
  pool_ = rte_pktmbuf_pool_create(name.c_str(), n, 64, 0, kDataRoom, SOCKET_ID_ANY);
  if (!pool_)
    throw std::runtime_error("cannot create the vhost-user packet pool for VF " + std::to_string(vf_id) + " (" +
                             std::to_string(n) + " mbufs): " + rte_strerror(rte_errno) +
                             "; give venicd more memory (EAL -m)");
  std::vector<std::pair<uint8_t*, uint64_t>> mem;
  rte_mempool_mem_iter(pool_, add_chunk, &mem);
  dma_ = std::make_shared<vf::DmaTable>();
  for (auto& [base, len] : mem) {
    dma_->add_own(base, len);
    chunks_.push_back({base, len, static_cast<uint16_t>(chunks_.size() + 1)});
  }
  if (chunks_.empty() || chunks_.size() > VENIC_MAX_DMA_REGIONS) {
    rte_mempool_free(pool_);
    throw std::runtime_error("the vhost-user packet pool of VF " + std::to_string(vf_id) + " has " +
                             std::to_string(chunks_.size()) + " memory chunks");
  }
}

VhostPort::~VhostPort() {
  release();
  rte_mempool_free(pool_);
}

void VhostPort::bind(int vid, const vf::VfRegion& region) {
  const venic_regs& r = region.layout();  // our private copy, never the shared page
  mask_ = r.ring_size - 1;
  for (uint32_t q = 0; q < q_.size(); q++) {
    Queue& Q = q_[q];
    const venic_qp_layout& l = r.qp[q];
    Q.tx_sq = region.ring(l.tx_sq_off);
    Q.tx_desc = region.entries<venic_desc>(l.tx_sq_off);
    Q.rx_sq = region.ring(l.rx_sq_off);
    Q.rx_desc = region.entries<venic_desc>(l.rx_sq_off);
    Q.rx_cq = region.ring(l.rx_cq_off);
    Q.rx_cqe = region.entries<venic_cqe>(l.rx_cq_off);
    Q.tx_prod = Q.tx_done = Q.rx_prod = Q.rx_cons = 0;
    Q.tx_mbuf.assign(r.ring_size, nullptr);
    Q.rx_mbuf.assign(r.ring_size, nullptr);
  }
  vid_.store(vid, std::memory_order_release);
}

void VhostPort::release() {
  for (Queue& Q : q_) {
    for (auto* v : {&Q.tx_mbuf, &Q.rx_mbuf}) {
      for (rte_mbuf*& m : *v) {
        if (m) rte_pktmbuf_free(m);
        m = nullptr;
      }
    }
    Q.tx_prod = Q.tx_done = Q.rx_prod = Q.rx_cons = 0;
  }
}

VhostCounters VhostPort::counters() const {
  return {counter_read(c_.from_guest), counter_read(c_.to_guest),      counter_read(c_.guest_full),
          counter_read(c_.guest_gone), counter_read(c_.too_many_segs), counter_read(c_.memory_faults)};
}

void VhostPort::peer_memory_faulted() {
  if (vid_.exchange(-1, std::memory_order_acq_rel) >= 0) counter_add(c_.memory_faults, 1);
}

// A descriptor for one mbuf segment: an offset into the pool chunk holding it.
bool VhostPort::descriptor_for(rte_mbuf* seg, venic_desc& d) const {
  auto* p = rte_pktmbuf_mtod(seg, uint8_t*);
  for (const Chunk& c : chunks_) {
    if (p >= c.base && p < c.base + c.len) {
      d.addr = static_cast<uint64_t>(p - c.base);
      d.mem_id = c.mem_id;
      return true;
    }
  }
  return false;
}

void VhostPort::reclaim_tx(Queue& Q) {
  // The fast path consumes whole frames, so cons always ends a frame.
  const uint32_t cons = load_acquire(&Q.tx_sq->cons);
  while (Q.tx_done != cons) {
    rte_mbuf*& m = Q.tx_mbuf[Q.tx_done & mask_];
    if (m) rte_pktmbuf_free(m);
    m = nullptr;
    Q.tx_done++;
  }
}

// Posts the segments of m as one frame; false when it cannot be sent.
bool VhostPort::post_frame(Queue& Q, rte_mbuf* m) {
  uint32_t n = 0;
  for (rte_mbuf* s = m; s; s = s->next) n += s->data_len != 0;
  if (n == 0 || n > VENIC_MAX_SEGS || n > kTxInflight - (Q.tx_prod - Q.tx_done)) return false;
  uint32_t k = 0;
  for (rte_mbuf* s = m; s; s = s->next) {
    if (s->data_len == 0) continue;
    venic_desc d{};
    if (!descriptor_for(s, d)) return false;  // not written: nothing was published
    d.len = s->data_len;
    d.flags = ++k < n ? VENIC_DESC_F_MORE : 0;
    Q.tx_desc[(Q.tx_prod + k - 1) & mask_] = d;
  }
  Q.tx_prod += n;
  Q.tx_mbuf[(Q.tx_prod - 1) & mask_] = m;  // freed once the frame's last descriptor completes
  return true;
}

uint32_t VhostPort::to_vf(uint32_t q) {
  const int vid = vid_.load(std::memory_order_acquire);
  if (vid < 0 || q >= q_.size()) return 0;
  Queue& Q = q_[q];
  reclaim_tx(Q);
  const uint32_t want = std::min(kBurst, (kTxInflight - (Q.tx_prod - Q.tx_done)) / kSegsPerFrame);
  if (want == 0) return 0;
  rte_mbuf* pkts[kBurst];
  const uint16_t n = rte_vhost_dequeue_burst(vid, static_cast<uint16_t>(2 * q + 1), pool_, pkts, want);
  if (n == 0) return 0;
  uint32_t dropped = 0;
  for (uint16_t i = 0; i < n; i++) {
    if (!post_frame(Q, pkts[i])) {
      rte_pktmbuf_free(pkts[i]);
      dropped++;
    }
  }
  store_release(&Q.tx_sq->prod, Q.tx_prod);
  counter_add(c_.from_guest, n - dropped);
  if (dropped) counter_add(c_.too_many_segs, dropped);
  return n;
}

void VhostPort::refill_rx(Queue& Q) {
  const uint32_t room = kRxPosted - (Q.rx_prod - Q.rx_cons);
  if (room < kBurst) return;  // post in bursts
  rte_mbuf* bufs[kRxPosted];
  if (rte_pktmbuf_alloc_bulk(pool_, bufs, room) != 0) return;  // pool dry: try again next poll
  for (uint32_t i = 0; i < room; i++) {
    venic_desc d{};
    descriptor_for(bufs[i], d);  // the pool's own mbufs: always inside a chunk
    d.len = rte_pktmbuf_tailroom(bufs[i]);
    d.flags = 0;
    const uint32_t slot = Q.rx_prod & mask_;
    Q.rx_desc[slot] = d;
    Q.rx_mbuf[slot] = bufs[i];
    Q.rx_prod++;
  }
  store_release(&Q.rx_sq->prod, Q.rx_prod);
}

uint32_t VhostPort::from_vf(uint32_t q) {
  if (q >= q_.size()) return 0;
  Queue& Q = q_[q];
  const uint32_t prod = load_acquire(&Q.rx_cq->prod);
  rte_mbuf* pkts[kBurst];
  uint32_t n = 0, idx = Q.rx_cons;
  // Entry i of the RX CQ answers the buffer posted at RX SQ entry i.
  while (idx != prod && n < kBurst) {
    uint32_t end = idx;
    while (end != prod && (Q.rx_cqe[end & mask_].flags & VENIC_CQE_F_MORE)) end++;
    if (end == prod) break;  // the frame's last segment is not published yet
    rte_mbuf *head = nullptr, *tail = nullptr;
    for (uint32_t k = idx; k != end + 1; k++) {
      rte_mbuf* m = Q.rx_mbuf[k & mask_];
      Q.rx_mbuf[k & mask_] = nullptr;
      m->data_len = static_cast<uint16_t>(std::min<uint32_t>(Q.rx_cqe[k & mask_].len, rte_pktmbuf_tailroom(m)));
      if (!head) {
        head = m;
        head->pkt_len = 0;
        head->nb_segs = 0;
      } else {
        tail->next = m;
      }
      head->pkt_len += m->data_len;
      head->nb_segs++;
      tail = m;
    }
    pkts[n++] = head;
    idx = end + 1;
  }
  if (n) {
    const int vid = vid_.load(std::memory_order_acquire);
    // The guest's RX virtqueue is queue 2q; rte_vhost copies into guest memory.
    const uint16_t sent = vid < 0 ? 0 : rte_vhost_enqueue_burst(vid, static_cast<uint16_t>(2 * q), pkts, n);
    counter_add(c_.to_guest, sent);
    if (sent < n) counter_add(vid < 0 ? c_.guest_gone : c_.guest_full, n - sent);
    rte_pktmbuf_free_bulk(pkts, n);
    Q.rx_cons = idx;
    store_release(&Q.rx_cq->cons, Q.rx_cons);
  }
  refill_rx(Q);
  return n;
}

}  // namespace venic::frontend
