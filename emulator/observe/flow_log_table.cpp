#include "flow_log_table.h"

#include <bit>
#include <cstring>

namespace venic::observe {

FlowLogTable::FlowLogTable(uint32_t slots) : mask_(std::bit_ceil(std::max<uint32_t>(slots, 16)) - 1) {
  for (Buffer& b : buffers_) b.slots.resize(mask_ + 1);
}

uint64_t FlowLogTable::hash(const FlowLogKey& k, bool accepted) {
  // Five 64-bit words through a multiply-xorshift mix: a few cycles.
  uint64_t w[5];
  static_assert(sizeof(FlowLogKey) == sizeof(w));
  std::memcpy(w, &k, sizeof(w));
  uint64_t h = 0x9e3779b97f4a7c15ull ^ accepted;
  for (uint64_t x : w) {
    h ^= x;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return h;
}

void FlowLogTable::harvest(const std::function<void(const Flow&)>& flow,
                           const std::function<void(uint16_t vf, uint64_t)>& skipped) {
  Buffer& b = buffers_[(epoch_.load(std::memory_order_acquire) + 1) & 1];
  for (Slot& s : b.slots) {
    if (!s.used) continue;
    flow({s.key, s.accepted, s.packets, s.bytes, s.first_tsc, s.last_tsc});
    s = Slot{};
  }
  for (uint16_t vf = 0; vf < 256; vf++)
    if (b.skipped[vf]) {
      skipped(vf, b.skipped[vf]);
      b.skipped[vf] = 0;
    }
}

}  // namespace venic::observe
