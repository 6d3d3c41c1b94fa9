#include "frame_queue.h"

#include <cstring>

namespace venic::services {

FrameQueue::FrameQueue(uint32_t slots) : meta_(slots ? slots : 1), data_(size_t{kSlotBytes} * meta_.size()) {}

bool FrameQueue::push(uint16_t vf, const uint8_t* frame, uint32_t len, bool* was_empty) {
  if (len > kSlotBytes) return false;
  std::lock_guard g(mu_);
  if (count_ == meta_.size()) return false;
  const uint32_t at = (head_ + count_) % static_cast<uint32_t>(meta_.size());
  std::memcpy(&data_[size_t{at} * kSlotBytes], frame, len);
  meta_[at] = {vf, len};
  *was_empty = count_++ == 0;
  return true;
}

bool FrameQueue::pop(uint16_t* vf, uint8_t* out, uint32_t* len) {
  std::lock_guard g(mu_);
  if (count_ == 0) return false;
  *vf = meta_[head_].vf;
  *len = meta_[head_].len;
  std::memcpy(out, &data_[size_t{head_} * kSlotBytes], *len);
  head_ = (head_ + 1) % static_cast<uint32_t>(meta_.size());
  count_--;
  return true;
}

}  // namespace venic::services
