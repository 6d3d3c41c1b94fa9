// VPC Flow Logs, the fast path's half: a worker counts each flow's packets
// and bytes in its own FlowLogTable, with no lock, no allocation and no I/O.
//
// Hand-over without locks: the table has two buffers; `epoch` (written by the
// control thread only) says which one workers fill.  At the end of a
// collection window the control thread flips the epoch, waits for the
// workers' grace period (Publisher::defer / Dataplane::defer: every worker
// has passed a quiescent point, so no record() still writes the old buffer),
// then reads and clears the old buffer (harvest).  One worker writes a
// table; the control thread reads only the buffer no worker can write.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace venic::observe {

// One flow as a VF saw it.  Addresses in network order; IPv4 in the first
// 4 bytes (the rest zero).  Ports 0 for protocols without them.
struct FlowLogKey {
  uint16_t vf = 0;     // the VF (ENI) whose log gets the record
  uint8_t family = 4;  // 4 or 6
  uint8_t proto = 0;   // IANA protocol number
  uint16_t sport = 0, dport = 0;
  uint8_t src[16] = {}, dst[16] = {};
  // Five words, compared as such (the fast path compares keys per packet).
  bool operator==(const FlowLogKey& o) const {
    uint64_t a[5], b[5];
    std::memcpy(a, this, sizeof(a));
    std::memcpy(b, &o, sizeof(b));
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
  }
};
static_assert(sizeof(FlowLogKey) == 40, "FlowLogKey is five 64-bit words, no padding");

class FlowLogTable {
 public:
  // slots: flows per window (rounded up to a power of two).
  explicit FlowLogTable(uint32_t slots = 4096);

  // Worker: counts one packet of k.  accepted: the security groups (and
  // network ACLs) let it through; false: they dropped it.  now_tsc: the
  // worker's clock (rte_rdtsc()).  A full table counts the packet as
  // skipped (the window's log-status SKIPDATA for that VF).
  void record(const FlowLogKey& k, bool accepted, uint32_t bytes, uint64_t now_tsc) {
    const uint32_t e = epoch_.load(std::memory_order_acquire);
    // A burst is mostly one flow: the last slot first, without hashing.
    if (last_ && last_epoch_ == e && last_->accepted == accepted && last_->key == k) {
      last_->packets++;
      last_->bytes += bytes;
      last_->last_tsc = now_tsc;
      return;
    }
    Buffer& b = buffers_[e & 1];
    const uint64_t h = hash(k, accepted);
    for (uint32_t i = 0; i < kMaxProbe; i++) {
      Slot& s = b.slots[(h + i) & mask_];
      if (!s.used) {
        s.used = true;
        s.key = k;
        s.accepted = accepted;
        s.first_tsc = now_tsc;
      } else if (s.accepted != accepted || !(s.key == k)) {
        continue;
      }
      s.packets++;
      s.bytes += bytes;
      s.last_tsc = now_tsc;
      last_ = &s;
      last_epoch_ = e;
      return;
    }
    b.skipped[k.vf]++;
  }

  // Control thread: workers move to the other buffer from their next
  // record().  Harvest the old one only after their grace period.
  void flip() { epoch_.fetch_add(1, std::memory_order_acq_rel); }

  struct Flow {
    FlowLogKey key;
    bool accepted;
    uint64_t packets, bytes, first_tsc, last_tsc;
  };
  // Control thread, after flip() and the grace period: every flow of the
  // buffer the workers left, and the packets skipped per VF; clears it.
  void harvest(const std::function<void(const Flow&)>& flow, const std::function<void(uint16_t vf, uint64_t)>& skipped);

  uint32_t capacity() const { return mask_ + 1; }
  static constexpr uint32_t kMaxProbe = 16;

 private:
  struct Slot {
    FlowLogKey key;
    bool used = false, accepted = false;
    uint64_t packets = 0, bytes = 0, first_tsc = 0, last_tsc = 0;
  };
  struct Buffer {
    std::vector<Slot> slots;
    uint64_t skipped[256] = {};
  };
  static uint64_t hash(const FlowLogKey& k, bool accepted);

  uint32_t mask_;
  Buffer buffers_[2];
  std::atomic<uint32_t> epoch_{0};
  // The worker's own: the slot it last counted into, in epoch last_epoch_
  // (a flip makes it stale, so a harvested slot is never reused by it).
  Slot* last_ = nullptr;
  uint32_t last_epoch_ = 0;
};

// Which VFs' flows are logged: one bit a VF, read by the fast path once per
// burst (relaxed), rewritten by the control thread when flow logs or ENIs
// change.
class FlowLogSelection {
 public:
  bool logged(uint16_t vf) const {
    return vf < 256 && (bits_[vf >> 6].load(std::memory_order_relaxed) >> (vf & 63)) & 1;
  }
  void set(const std::vector<bool>& vfs) {
    for (unsigned w = 0; w < 4; w++) {
      uint64_t x = 0;
      for (unsigned i = 0; i < 64; i++)
        if (w * 64 + i < vfs.size() && vfs[w * 64 + i]) x |= uint64_t(1) << i;
      bits_[w].store(x, std::memory_order_relaxed);
    }
  }

 private:
  std::atomic<uint64_t> bits_[4] = {};
};

}  // namespace venic::observe
