// One VF served over vhost-user: the in-daemon driver (a vf::Bridge) between
// the guest's virtqueues and the VF's device-ABI rings.  Guest frames are
// dequeued into mbufs of the port's own pool and posted to the VF's TX SQ as
// descriptors into that pool (registered with the VF as daemon memory); the
// fast path then treats them exactly as a PMD's frames: same checks, same
// allowances, same switching.  Frames the VF receives land in pool mbufs
// posted to its RX SQ and are enqueued into the guest's RX virtqueue.
// rte_vhost translates and bounds-checks every guest descriptor address
// against the memory table of this connection alone.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vf.h"

struct rte_mempool;
struct rte_mbuf;

namespace venic::frontend {

// What the bridge moved; single writer (the VF's worker), read by the
// control thread.
struct VhostCounters {
  uint64_t from_guest = 0;     // frames dequeued from the guest's TX virtqueues
  uint64_t to_guest = 0;       // frames enqueued into its RX virtqueues
  uint64_t guest_full = 0;     // dropped: the guest posted no RX buffer
  uint64_t guest_gone = 0;     // dropped: received while no guest was connected
  uint64_t too_many_segs = 0;  // dropped: a guest frame in more than VENIC_MAX_SEGS mbufs
  uint64_t memory_faults = 0;  // guests cut off for truncating their memory under us
};

class VhostPort final : public vf::Bridge {
 public:
  // Creates the packet pool for a VF of `queues` queue pairs; throws.
  VhostPort(uint16_t vf_id, uint32_t queues);
  ~VhostPort() override;
  VhostPort(const VhostPort&) = delete;
  VhostPort& operator=(const VhostPort&) = delete;

  // Worker side (vf::Bridge).
  uint32_t to_vf(uint32_t q) override;
  uint32_t from_vf(uint32_t q) override;
  // The guest truncated its memory: it is served no more (until it connects
  // again); the pages that faulted were already replaced.
  void peer_memory_faulted() override;

  // Control side.  The pool's memory, as the VF's DMA table.
  std::shared_ptr<const vf::DmaTable> dma() const { return dma_; }
  // Binds the rings of `region` and guest connection vid; call before the
  // VF is published as polled.
  void bind(int vid, const vf::VfRegion& region);
  // The guest connection is gone: the worker stops touching its virtqueues
  // once it has passed a quiescent state.  Any thread.
  bool unbind_guest(int vid) {
    int expected = vid;
    return vid_.compare_exchange_strong(expected, -1, std::memory_order_acq_rel);
  }
  // Frees every mbuf held in the rings; only while no worker polls the VF.
  void release();
  int vid() const { return vid_.load(std::memory_order_acquire); }
  VhostCounters counters() const;

 private:
  struct Chunk {
    uint8_t* base;
    uint64_t len;
    uint16_t mem_id;
  };
  struct Queue {
    venic_ring* tx_sq = nullptr;
    venic_desc* tx_desc = nullptr;
    venic_ring* rx_sq = nullptr;
    venic_desc* rx_desc = nullptr;
    venic_ring* rx_cq = nullptr;
    const venic_cqe* rx_cqe = nullptr;
    uint32_t tx_prod = 0, tx_done = 0;  // descriptors published / reclaimed
    uint32_t rx_prod = 0, rx_cons = 0;  // buffers posted / completions taken
    std::vector<rte_mbuf*> tx_mbuf;     // per TX SQ slot: the frame ending there
    std::vector<rte_mbuf*> rx_mbuf;     // per RX SQ slot: the posted buffer
  };
  bool descriptor_for(rte_mbuf* seg, venic_desc& d) const;
  bool post_frame(Queue& Q, rte_mbuf* m);
  void reclaim_tx(Queue& Q);
  void refill_rx(Queue& Q);

  uint16_t vf_id_;
  rte_mempool* pool_ = nullptr;
  std::vector<Chunk> chunks_;
  std::shared_ptr<vf::DmaTable> dma_;
  uint32_t mask_ = 0;
  std::vector<Queue> q_;
  std::atomic<int> vid_{-1};
  VhostCounters c_;
};

}  // namespace venic::frontend
