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

#include <cstddef>
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
  kBeyond,   // after expected but past the window: not held now; the caller
             // keeps the packet where it is (back-pressure) and retries later
  kStale,    // before expected (already released): a duplicate, drop it
};

template <class T>
class ReorderBuffer {
 public:
  // window: how many messages past `expected` may be held; max_packets: how
  // many packets may be held in all.  Together they bound the memory a peer
  // can make us spend; what does not fit is refused (hold() answers false),
  // never dropped here.
  explicit ReorderBuffer(uint32_t window = 1u << 16, uint32_t first = 0, size_t max_packets = SIZE_MAX)
      : window_(window), expected_(first), max_packets_(max_packets) {}

  uint32_t expected() const { return expected_; }
  size_t held() const { return held_.size(); }
  size_t held_packets() const { return packets_; }

  SeqClass classify(uint32_t seq) const {
    int32_t d = seq_diff(seq, expected_);
    if (d == 0) return SeqClass::kInOrder;
    if (d > 0) return static_cast<uint32_t>(d) < window_ ? SeqClass::kAhead : SeqClass::kBeyond;
    return SeqClass::kStale;
  }

  // Holds one packet of message seq (several packets of one message may be
  // held: the segments of a medium message).  False (item untouched) if seq
  // is not kAhead or max_packets are held already (unless force): the caller
  // keeps it.
  bool hold(uint32_t seq, T&& item, bool force = false) {
    if (classify(seq) != SeqClass::kAhead || (packets_ >= max_packets_ && !force)) return false;
    held_[key(seq)].push_back(std::move(item));
    ++packets_;
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
    packets_ -= v.size();
    return v;
  }

  void reset(uint32_t first) {
    held_.clear();
    packets_ = 0;
    expected_ = first;
  }

 private:
  // Keyed by the raw sequence number: lookups are exact, so wrap-around
  // needs no special care here (classify() bounds what gets in).
  static uint32_t key(uint32_t seq) { return seq; }

  uint32_t window_;
  uint32_t expected_;
  size_t max_packets_;
  size_t packets_ = 0;
  std::map<uint32_t, std::vector<T>> held_;
};

}  // namespace vefa

#endif
