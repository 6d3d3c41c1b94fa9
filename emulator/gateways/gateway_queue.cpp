#include "gateway_queue.h"

#include <cstring>

namespace venic::gateways {

GatewayQueue::GatewayQueue(uint32_t slots)
    : meta_(slots ? slots : 1),
      data_(size_t{kSlotBytes} * meta_.size()),
      per_vf_max_(meta_.size() >= 4 ? static_cast<uint32_t>(meta_.size() / 4) : 1),
      of_vf_(65536, 0) {}

bool GatewayQueue::push(uint16_t vf, const char* gateway, const uint8_t* frame, uint32_t len, bool* was_empty) {
  const size_t id_len = gateway ? ::strnlen(gateway, kIdBytes) : kIdBytes;
  if (id_len >= kIdBytes) return false;
  const uint32_t keep = len < kSlotBytes ? len : kSlotBytes;
  std::lock_guard g(mu_);
  if (count_ == meta_.size() || of_vf_[vf] >= per_vf_max_) return false;
  const uint32_t at = (head_ + count_) % static_cast<uint32_t>(meta_.size());
  std::memcpy(&data_[size_t{at} * kSlotBytes], frame, keep);
  Slot& s = meta_[at];
  s.vf = vf;
  s.len = keep;
  s.wire_len = len;
  std::memcpy(s.gateway, gateway, id_len + 1);
  of_vf_[vf]++;
  *was_empty = count_++ == 0;
  return true;
}

bool GatewayQueue::pop(uint16_t* vf, char* gateway, uint8_t* out, uint32_t* len, uint32_t* wire_len) {
  std::lock_guard g(mu_);
  if (count_ == 0) return false;
  const Slot& s = meta_[head_];
  *vf = s.vf;
  of_vf_[s.vf]--;
  *len = s.len;
  *wire_len = s.wire_len;
  std::memcpy(gateway, s.gateway, kIdBytes);
  std::memcpy(out, &data_[size_t{head_} * kSlotBytes], s.len);
  head_ = (head_ + 1) % static_cast<uint32_t>(meta_.size());
  count_--;
  return true;
}

}  // namespace venic::gateways
