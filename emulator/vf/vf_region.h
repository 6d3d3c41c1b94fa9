// A VF's shared-memory region: a sealed memfd laid out as the device ABI says.
// The daemon maps it once; the attached driver maps it from the fd we send.
#pragma once

#include <cstdint>
#include <string>

#include "unique_fd.h"
#include "venic_abi.h"
#include "vf_config.h"

namespace venic::vf {

inline constexpr uint32_t kRingSize = 4096;
inline constexpr uint32_t kAdminRingSize = 64;
inline constexpr uint32_t kEventRingSize = 256;

class VfRegion {
 public:
  // Creates and lays out the region for cfg; throws std::system_error.
  explicit VfRegion(const VfConfig& cfg);
  VfRegion(const VfRegion&) = delete;
  VfRegion& operator=(const VfRegion&) = delete;
  ~VfRegion();

  int fd() const { return fd_.get(); }
  uint8_t* base() const { return base_; }
  uint64_t size() const { return size_; }
  // The shared register page: the daemon writes it, never trusts it (the
  // driver maps it writable).  Offsets and sizes come from layout().
  venic_regs* regs() const { return reinterpret_cast<venic_regs*>(base_); }
  // The daemon's private copy of the identity and layout written at creation.
  const venic_regs& layout() const { return layout_; }
  venic_stats* stats() const { return at<venic_stats>(layout_.stats_off); }
  venic_ring* ring(uint64_t off) const { return at<venic_ring>(off); }
  template <typename T>
  T* entries(uint64_t ring_off) const {
    return at<T>(ring_off + VENIC_RING_HDR_SIZE);
  }

  // Zeroes every ring index and the stats, as at creation (the daemon does
  // this only while no worker polls the VF).
  void reset_rings();
  // Zeroes the indices of the queue-pair rings only.
  void reset_queue_rings();
  // Posts an async event; dropped (returns false) when the driver lags.
  bool post_event(uint16_t type, uint32_t data);
  // Mirrors the operator-visible state into the register page.
  void publish_state(const VfConfig& cfg, uint32_t flags, uint32_t active_qps);
  // Counters the driver reads from the register page (kept privately, stored).
  void beat() { __atomic_store_n(&regs()->heartbeat, ++heartbeat_, __ATOMIC_RELEASE); }
  void count_reset() { __atomic_store_n(&regs()->reset_count, ++resets_, __ATOMIC_RELEASE); }

 private:
  template <typename T>
  T* at(uint64_t off) const {
    return reinterpret_cast<T*>(base_ + off);
  }
  UniqueFd fd_;
  uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  venic_regs layout_{};
  uint64_t event_seq_ = 0;
  uint32_t event_prod_ = 0;
  uint64_t heartbeat_ = 0;
  uint32_t resets_ = 0;
};

}  // namespace venic::vf
