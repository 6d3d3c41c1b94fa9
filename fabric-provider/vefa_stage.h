// SPDX-License-Identifier: MIT
//
// Space in a QP's staging area for RDMA reads (ABI 1.1): the device lands a
// staged read there and the provider copies it into the user's buffer when
// the completion arrives.  Reads complete in any order, so space is kept in
// fixed blocks with a bitmap, first fit.  No libfabric dependency.
#ifndef VEFA_STAGE_H
#define VEFA_STAGE_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace vefa {

class StageSpace {
 public:
  // bytes: the area's size (0: no staging); block: the unit of allocation.
  StageSpace(uint64_t bytes = 0, uint64_t block = 64u << 10);

  // Whether a read of len bytes can ever be staged (fits the whole area).
  bool fits(uint64_t len) const { return len && len <= blocks_ * block_; }
  // The offset of len free bytes, or nothing while the area is too full.
  std::optional<uint64_t> take(uint64_t len);
  // Returns what take(len) gave at off.
  void give(uint64_t off, uint64_t len);
  uint64_t used_blocks() const { return used_; }

 private:
  uint64_t span(uint64_t len) const { return (len + block_ - 1) / block_; }
  uint64_t block_, blocks_, used_ = 0;
  std::vector<bool> busy_;
};

}  // namespace vefa
#endif
