// One process's context on an EFA device: a sealed memfd laid out as
// venic_efa_abi.h says.  The daemon maps it once; the process maps it from
// the fd that efa.open sends.
#pragma once

#include <cstdint>

#include "unique_fd.h"
#include "venic_efa_abi.h"

namespace venic::efa {

// Each QP's staging area for RDMA: room for several chunks of a long
// message in flight.
inline constexpr uint32_t kStageQpBytes = 8u << 20;

class EfaRegion {
 public:
  // Creates and lays out a context region; throws std::system_error.
  EfaRegion(uint32_t vf_id, uint32_t ctx_id, const uint8_t (&gid)[VENIC_EFA_GID_SIZE], uint32_t link_speed_mbps);
  EfaRegion(const EfaRegion&) = delete;
  EfaRegion& operator=(const EfaRegion&) = delete;
  ~EfaRegion();

  int fd() const { return fd_.get(); }
  uint8_t* base() const { return base_; }
  uint64_t size() const { return size_; }
  // The daemon's private copy of what it wrote at creation (never re-read
  // from the shared page, which the process may scribble on).
  const venic_efa_regs& layout() const { return layout_; }
  venic_efa_regs* regs() const { return reinterpret_cast<venic_efa_regs*>(base_); }
  venic_efa_stats* stats() const { return at<venic_efa_stats>(layout_.stats_off); }
  venic_ring* ring(uint64_t off) const { return at<venic_ring>(off); }
  template <typename T>
  T* entries(uint64_t ring_off) const {
    return at<T>(ring_off + VENIC_RING_HDR_SIZE);
  }
  uint8_t* bytes(uint64_t off) const { return base_ + off; }
  venic_efa_assist* assist(uint32_t i) const { return at<venic_efa_assist>(layout_.assist_off) + i; }
  uint8_t* assist_data(uint32_t i) const {
    return base_ + layout_.assist_buf_off + uint64_t(i) * VENIC_EFA_ASSIST_BYTES;
  }
  // Zeroes a queue pair's or a completion queue's ring indices (before it is
  // handed out again).
  void reset_qp(uint32_t qp);
  void reset_cq(uint32_t cq);
  void beat() { __atomic_store_n(&regs()->heartbeat, ++heartbeat_, __ATOMIC_RELEASE); }

 private:
  template <typename T>
  T* at(uint64_t off) const {
    return reinterpret_cast<T*>(base_ + off);
  }
  UniqueFd fd_;
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  venic_efa_regs layout_{};
  uint64_t heartbeat_ = 0;
};

}  // namespace venic::efa
