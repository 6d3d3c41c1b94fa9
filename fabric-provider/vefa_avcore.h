// SPDX-License-Identifier: MIT
//
// The address vector's storage: endpoint names, the device address handle
// each resolved to, and the reverse map a receive uses to name its sender
// (FI_SOURCE).  fi_addr_t values are indices for both FI_AV_TABLE (where
// the standard requires it) and FI_AV_MAP (where they are opaque).
// No libfabric dependency.
#ifndef VEFA_AVCORE_H
#define VEFA_AVCORE_H

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace vefa {

inline constexpr size_t kGidSize = 16;

// An endpoint's address (fi_getname), shaped like efa's: the device GID, the
// QP number and qkey, plus the endpoint's incarnation so a peer that reuses
// a QP number after a restart is told apart from the old one.
struct EpName {
  uint8_t gid[kGidSize];
  uint16_t qpn;
  uint16_t pad;
  uint32_t qkey;
  uint32_t conn_id;
  uint32_t reserved;
};
static_assert(sizeof(EpName) == 32);

// What the device tells a receiver about a sender: (src_ah, src_qpn).
inline uint64_t peer_key(uint16_t ah, uint16_t qpn) {
  return (static_cast<uint64_t>(ah) << 16) | qpn;
}

class AvCore {
 public:
  struct Entry {
    EpName name;
    uint16_t ah;
    bool valid;
    uint64_t key() const { return peer_key(ah, name.qpn); }
  };

  uint64_t insert(const EpName& name, uint16_t ah);
  bool remove(uint64_t addr);
  const Entry* lookup(uint64_t addr) const;
  std::optional<uint64_t> reverse(uint64_t key) const;
  size_t count() const { return live_; }

 private:
  std::vector<Entry> entries_;
  std::unordered_map<uint64_t, uint64_t> by_key_;
  size_t live_ = 0;
};

}  // namespace vefa

#endif
