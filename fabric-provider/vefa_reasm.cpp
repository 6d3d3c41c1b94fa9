// SPDX-License-Identifier: MIT
#include "vefa_reasm.h"

namespace vefa {

Reassembly::Reassembly(uint64_t total, uint32_t seg_size)
    : seg_{total, seg_size == 0 ? 1 : seg_size}, seen_(seg_.count(), false) {}

SegVerdict Reassembly::accept(uint64_t offset, uint64_t len) {
  // A segment is only valid where the sender's Segmenter would put it: on a
  // seg_size boundary, with exactly that segment's length.
  if (offset % seg_.seg_size != 0) return SegVerdict::kOutOfBounds;
  uint64_t i = offset / seg_.seg_size;
  if (i >= seg_.count() || len != seg_.size(i)) return SegVerdict::kOutOfBounds;
  if (seen_[i]) return SegVerdict::kDuplicate;
  seen_[i] = true;
  ++received_;
  return SegVerdict::kAccepted;
}

}  // namespace vefa
