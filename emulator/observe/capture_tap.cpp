#include "capture_tap.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace venic::observe {

// A bounded multi-producer queue (each slot's sequence number says whose
// turn it is: a producer's when seq == pos, the consumer's when seq == pos+1).
struct CaptureTap::Ring {
  struct Slot {
    std::atomic<uint64_t> seq;
    Frame meta;
    uint8_t data[kSnapLen];
  };
  explicit Ring(uint8_t d) : dirs(d), slots(kRingSlots) {
    for (uint64_t i = 0; i < kRingSlots; i++) slots[i].seq.store(i, std::memory_order_relaxed);
  }
  uint8_t dirs;
  std::vector<Slot> slots;
  alignas(64) std::atomic<uint64_t> enqueue_pos{0};
  alignas(64) uint64_t dequeue_pos = 0;
  std::atomic<uint64_t> lost{0};
};

void CaptureTap::offer(CaptureDirection dir, const uint8_t* frame, uint32_t len, int verdict, uint64_t now_tsc) {
  Ring* r = ring_.load(std::memory_order_acquire);
  if (!r || !(r->dirs & static_cast<uint8_t>(dir))) return;
  uint64_t pos = r->enqueue_pos.load(std::memory_order_relaxed);
  Ring::Slot* s;
  for (;;) {
    s = &r->slots[pos & (kRingSlots - 1)];
    const uint64_t seq = s->seq.load(std::memory_order_acquire);
    const int64_t diff = static_cast<int64_t>(seq) - static_cast<int64_t>(pos);
    if (diff == 0) {
      if (r->enqueue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (diff < 0) {
      r->lost.fetch_add(1, std::memory_order_relaxed);  // full
      return;
    } else {
      pos = r->enqueue_pos.load(std::memory_order_relaxed);
    }
  }
  const uint32_t n = std::min(len, kSnapLen);
  std::memcpy(s->data, frame, n);
  s->meta = {dir, verdict, n, len, now_tsc, nullptr};
  s->seq.store(pos + 1, std::memory_order_release);
}

bool CaptureTap::start(uint8_t dirs) {
  if (owner_) return false;
  owner_ = std::make_shared<Ring>(dirs);
  ring_.store(owner_.get(), std::memory_order_release);
  return true;
}

unsigned CaptureTap::drain(const std::function<void(const Frame&)>& fn, unsigned max) {
  Ring* r = owner_.get();
  if (!r) return 0;
  unsigned n = 0;
  while (n < max) {
    Ring::Slot& s = r->slots[r->dequeue_pos & (kRingSlots - 1)];
    if (s.seq.load(std::memory_order_acquire) != r->dequeue_pos + 1) break;
    Frame f = s.meta;
    f.data = s.data;
    fn(f);
    s.seq.store(r->dequeue_pos + kRingSlots, std::memory_order_release);
    r->dequeue_pos++;
    n++;
  }
  return n;
}

void CaptureTap::stop(const std::function<void(std::function<void()>)>& defer) {
  if (!owner_) return;
  ring_.store(nullptr, std::memory_order_release);
  std::shared_ptr<Ring> old = std::move(owner_);
  defer([old] {});  // the last reference goes after the grace period
}

uint64_t CaptureTap::lost() const {
  return owner_ ? owner_->lost.load(std::memory_order_relaxed) : 0;
}

}  // namespace venic::observe
