// Per-VF packet capture, the fast path's half.  No cost when no capture
// runs: the fast path checks active() (one relaxed load) once per burst and
// offers frames only then.  offer() copies the frame (at most kSnapLen
// bytes) into a bounded lock-free ring with any number of producers (TX on
// the VF's worker, RX deliveries from any worker) and one consumer, the
// control thread's pcapng writer; a full ring drops the copy and counts it.
//
// Ownership of the ring: start() (control thread) allocates it before
// setting active; stop() clears active and hands the ring to `defer`, which
// frees it after the workers' grace period, so an offer() that saw active
// never writes freed memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace venic::observe {

enum class CaptureDirection : uint8_t { kIn = 1, kOut = 2 };  // as seen by the VF: in = delivered to it

class CaptureTap {
 public:
  static constexpr uint32_t kSnapLen = 2048;
  static constexpr uint32_t kRingSlots = 1024;

  // Fast path, once per burst.
  bool active() const { return ring_.load(std::memory_order_acquire) != nullptr; }

  // Fast path: one frame of this VF.  verdict: -1 delivered (or sent on),
  // else the VENIC_DROP_* reason it was dropped for.  now_tsc: rte_rdtsc().
  void offer(CaptureDirection dir, const uint8_t* frame, uint32_t len, int verdict, uint64_t now_tsc);

  struct Frame {
    CaptureDirection dir;
    int verdict;
    uint32_t len, orig_len;
    uint64_t tsc;
    const uint8_t* data;
  };
  // Control thread: starts capturing `dirs` (kIn, kOut or both, as a bit
  // mask of CaptureDirection values).  False when already running.
  bool start(uint8_t dirs);
  // Control thread: hands each captured frame to fn, oldest first; at most
  // max.  Returns how many.
  unsigned drain(const std::function<void(const Frame&)>& fn, unsigned max = kRingSlots);
  // Control thread: stops; defer(fn) runs fn after the workers' grace period.
  void stop(const std::function<void(std::function<void()>)>& defer);
  // Copies lost to a full ring since start().
  uint64_t lost() const;

 private:
  struct Ring;
  std::atomic<Ring*> ring_{nullptr};
  std::shared_ptr<Ring> owner_;  // keeps the ring while the tap may use it
};

}  // namespace venic::observe
