#include "flow_log_table.h"

#include <bit>
#include <cstring>

namespace venic::observe {

FlowLogTable::FlowLogTable(uint32_t slots) : mask_(std::bit_ceil(std::max<uint32_t>(slots, 16)) - 1) {
  for (Buffer& b : buffers_) b.slots.resize(mask_ + 1);
}

uint64_t FlowLogTable::hash(const FlowLogKey& k, bool accepted) {
  // Five 64-bit words, each multiplied by its own odd constant in parallel,
  // folded and mixed once: a few cycles of latency.
  uint64_t w[5];
  static_assert(sizeof(FlowLogKey) == sizeof(w));
  std::memcpy(w, &k, sizeof(w));
  uint64_t h = (w[0] * 0x9e3779b97f4a7c15ull) ^ (w[1] * 0xc2b2ae3d27d4eb4full) ^ (w[2] * 0x165667b19e3779f9ull) ^
               (w[3] * 0xd6e8feb86659fd93ull) ^ (w[4] * 0xff51afd7ed558ccdull) ^ accepted;
  h ^= h >> 32;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 29);
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
