// SPDX-License-Identifier: MIT
//
// Per-peer reorder buffer: SRD delivers a peer's messages in any order, but
// matching must follow the sender's order (FI_ORDER_SAS, MPI's non-overtaking
// rule).  Each message carries a 32-bit sequence number; the receiver
// releases message `expected` and holds later ones until their turn.
// Sequence numbers wrap; comparisons use serial-number arithmetic.
// No libfabric dependency.
#ifndef VEFA_REORDER_H
#define VEFA_REORDER_H

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace vefa {

// Signed distance from `from` to `to`, modulo 2^32.
int32_t seq_diff(uint32_t to, uint32_t from);

enum class SeqClass {
  kInOrder,  // seq == expected: process now
  kAhead,    // within the window after expected: hold it
  kStale,    // before expected (already released) or beyond the window
};

template <class T>
class ReorderBuffer {
 public:
  // window: how many messages past `expected` may be held; a sender cannot
  // have more in flight than its transmit queue, so this bounds memory.
  explicit ReorderBuffer(uint32_t window = 1u << 16, uint32_t first = 0) : window_(window), expected_(first) {}

  uint32_t expected() const { return expected_; }
  size_t held() const { return held_.size(); }

  SeqClass classify(uint32_t seq) const {
    int32_t d = seq_diff(seq, expected_);
    if (d == 0) return SeqClass::kInOrder;
    if (d > 0 && static_cast<uint32_t>(d) < window_) return SeqClass::kAhead;
    return SeqClass::kStale;
  }

  // Holds one packet of message seq (several packets of one message may be
  // held: the segments of a medium message).  False if seq is not kAhead.
  bool hold(uint32_t seq, T&& item) {
    if (classify(seq) != SeqClass::kAhead) return false;
    held_[key(seq)].push_back(std::move(item));
    return true;
  }

  // Marks `expected` as released.
  void advance() { ++expected_; }

  // The held packets of `expected` (after advance() of the previous one), or
  // nothing if that message has not arrived yet.
  std::optional<std::vector<T>> take_ready() {
    auto it = held_.find(key(expected_));
    if (it == held_.end()) return std::nullopt;
    std::vector<T> v = std::move(it->second);
    held_.erase(it);
    return v;
  }

  void reset(uint32_t first) {
    held_.clear();
    expected_ = first;
  }

 private:
  // Keyed by the raw sequence number: lookups are exact, so wrap-around
  // needs no special care here (classify() bounds what gets in).
  static uint32_t key(uint32_t seq) { return seq; }

  uint32_t window_;
  uint32_t expected_;
  std::map<uint32_t, std::vector<T>> held_;
};

}  // namespace vefa

#endif
