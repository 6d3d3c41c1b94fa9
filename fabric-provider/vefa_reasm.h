// SPDX-License-Identifier: MIT
//
// Segmentation and reassembly of a message over fixed-size packets.  SRD is
// unordered, so segments arrive in any order: the receiver tracks which
// segment indices it has seen.  No libfabric dependency.
#ifndef VEFA_REASM_H
#define VEFA_REASM_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vefa {

// The sender's view: how a message of total bytes is cut into segments of
// seg_size (the last one shorter).  A zero-length message is one empty segment.
struct Segmenter {
  uint64_t total;
  uint32_t seg_size;

  uint64_t count() const { return total == 0 ? 1 : (total + seg_size - 1) / seg_size; }
  uint64_t offset(uint64_t i) const { return i * seg_size; }
  uint32_t size(uint64_t i) const {
    uint64_t off = offset(i);
    return off >= total ? 0 : static_cast<uint32_t>(total - off < seg_size ? total - off : seg_size);
  }
};

enum class SegVerdict {
  kAccepted,
  kDuplicate,   // this segment was seen already
  kOutOfBounds  // offset/length do not describe a segment of this message
};

// The receiver's view.
class Reassembly {
 public:
  Reassembly() = default;
  Reassembly(uint64_t total, uint32_t seg_size);

  // Checks a segment (offset, len) against the message's geometry, records it.
  SegVerdict accept(uint64_t offset, uint64_t len);
  bool complete() const { return received_ == seg_.count(); }
  uint64_t total() const { return seg_.total; }
  uint64_t segments_received() const { return received_; }

 private:
  Segmenter seg_{0, 1};
  std::vector<bool> seen_;
  uint64_t received_ = 0;
};

}  // namespace vefa

#endif
