// A bounded multi-producer, single-consumer queue of frames for the
// gateways: the workers push (no allocation, a memcpy under a short lock),
// the gateway thread pops.  A frame longer than a slot keeps its first
// kSlotBytes (its headers) and its length: too big for the internet anyway,
// it is answered from them (ICMP "fragmentation needed").  One VF holds at
// most a quarter of the slots: a tenant flooding its gateway cannot take
// the queue from the others.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace venic::gateways {

class GatewayQueue {
 public:
  static constexpr uint32_t kSlotBytes = 2048;  // a 1500-byte packet's frame, with room
  static constexpr uint32_t kIdBytes = 24;      // "igw-" / "nat-" and 17 hex digits, NUL-terminated

  explicit GatewayQueue(uint32_t slots);
  uint32_t per_vf_max() const { return per_vf_max_; }

  // Copies the frame (at most kSlotBytes of it) and the gateway id in; false
  // when the queue is full or the id too long.  *was_empty: the consumer may sleep.
  bool push(uint16_t vf, const char* gateway, const uint8_t* frame, uint32_t len, bool* was_empty);
  // The oldest frame into out (kSlotBytes) and gateway (kIdBytes); *len is
  // what was kept, *wire_len the frame's real length.  False when empty.
  bool pop(uint16_t* vf, char* gateway, uint8_t* out, uint32_t* len, uint32_t* wire_len);

 private:
  struct Slot {
    uint16_t vf;
    uint32_t len, wire_len;
    char gateway[kIdBytes];
  };
  std::mutex mu_;
  std::vector<Slot> meta_;
  std::vector<uint8_t> data_;
  uint32_t head_ = 0, count_ = 0;
  uint32_t per_vf_max_;
  std::vector<uint32_t> of_vf_;  // frames queued per VF
};

}  // namespace venic::gateways
