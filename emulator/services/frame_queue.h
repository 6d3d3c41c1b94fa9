// A bounded multi-producer, single-consumer queue of frame copies: the fast
// path's workers push (never allocating, never waiting beyond a memcpy under
// a short lock), the service thread pops.  Its slots are allocated once.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace venic::services {

class FrameQueue {
 public:
  static constexpr uint32_t kSlotBytes = 2048;  // a 1500-byte MTU frame and a VLAN tag fit

  explicit FrameQueue(uint32_t slots);

  // Copies frame in; false when the queue is full or the frame too big.
  // *was_empty tells whether the consumer may be asleep.
  bool push(uint16_t vf, const uint8_t* frame, uint32_t len, bool* was_empty);
  // Copies the oldest frame into out (kSlotBytes); false when empty.
  bool pop(uint16_t* vf, uint8_t* out, uint32_t* len);

 private:
  struct Slot {
    uint16_t vf;
    uint32_t len;
  };
  std::mutex mu_;
  std::vector<Slot> meta_;
  std::vector<uint8_t> data_;
  uint32_t head_ = 0, count_ = 0;
};

}  // namespace venic::services
