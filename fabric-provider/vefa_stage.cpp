// SPDX-License-Identifier: MIT
#include "vefa_stage.h"

namespace vefa {

StageSpace::StageSpace(uint64_t bytes, uint64_t block)
    : block_(block ? block : 1), blocks_(bytes / block_), busy_(blocks_, false) {}

std::optional<uint64_t> StageSpace::take(uint64_t len) {
  if (!fits(len)) return std::nullopt;
  const uint64_t n = span(len);
  uint64_t run = 0;
  for (uint64_t b = 0; b < blocks_; b++) {
    run = busy_[b] ? 0 : run + 1;
    if (run == n) {
      const uint64_t first = b + 1 - n;
      for (uint64_t i = first; i <= b; i++) busy_[i] = true;
      used_ += n;
      return first * block_;
    }
  }
  return std::nullopt;
}

void StageSpace::give(uint64_t off, uint64_t len) {
  const uint64_t first = off / block_;
  for (uint64_t i = first; i < first + span(len) && i < blocks_; i++)
    if (busy_[i]) busy_[i] = false, used_--;
}

}  // namespace vefa
