// SPDX-License-Identifier: MIT
#include "vefa_avcore.h"

namespace vefa {

uint64_t AvCore::insert(const EpName& name, uint16_t ah) {
  uint64_t addr = entries_.size();
  entries_.push_back(Entry{name, ah, true});
  // A re-inserted peer (or a new incarnation on the same QP) answers to its
  // newest address.
  by_key_[entries_.back().key()] = addr;
  ++live_;
  return addr;
}

bool AvCore::remove(uint64_t addr) {
  if (addr >= entries_.size() || !entries_[addr].valid) return false;
  Entry& e = entries_[addr];
  e.valid = false;
  --live_;
  auto it = by_key_.find(e.key());
  if (it != by_key_.end() && it->second == addr) {
    by_key_.erase(it);
    // An older live entry for the same peer takes over the reverse map.
    for (uint64_t i = entries_.size(); i-- > 0;)
      if (entries_[i].valid && entries_[i].key() == e.key()) {
        by_key_[e.key()] = i;
        break;
      }
  }
  return true;
}

const AvCore::Entry* AvCore::lookup(uint64_t addr) const {
  if (addr >= entries_.size() || !entries_[addr].valid) return nullptr;
  return &entries_[addr];
}

std::optional<uint64_t> AvCore::reverse(uint64_t key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

}  // namespace vefa
