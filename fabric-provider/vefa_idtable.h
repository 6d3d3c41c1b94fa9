// SPDX-License-Identifier: MIT
//
// IdTable: the endpoint's operation entries by id, with no allocation and
// no hashing per operation.  An id is (generation << 32 | slot): the slot
// indexes an array, the generation tells a stale id (a late device
// completion of an entry already gone) from the slot's current entry.
// Erased entries stay allocated in their slot and are reused (reset() keeps
// their small buffers' capacity), so a steady stream of operations reuses
// the same few objects.  The interface is the part of std::unordered_map
// <uint64_t, std::unique_ptr<T>> the provider uses: find/end/erase,
// operator[], size, and iteration over {first: id, second: object}.
#ifndef VEFA_IDTABLE_H
#define VEFA_IDTABLE_H

#include <cstdint>
#include <memory>
#include <vector>

namespace vefa {

template <class T>
class IdTable {
 public:
  struct Slot {
    uint64_t first = 0;  // the id; 0 while the slot is free
    std::unique_ptr<T> second;
  };

  class iterator {
   public:
    iterator(std::vector<Slot>* v, size_t i) : v_(v), i_(i) { skip(); }
    Slot& operator*() const { return (*v_)[i_]; }
    Slot* operator->() const { return &(*v_)[i_]; }
    iterator& operator++() {
      ++i_;
      skip();
      return *this;
    }
    bool operator==(const iterator& o) const { return i_ == o.i_; }
    bool operator!=(const iterator& o) const { return i_ != o.i_; }

   private:
    friend class IdTable;
    void skip() {
      while (i_ < v_->size() && (*v_)[i_].first == 0) ++i_;
    }
    std::vector<Slot>* v_;
    size_t i_;
  };

  // A new entry (default-constructed or reset), its id in T::id.
  T* alloc() {
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& s = slots_[slot];
    if (s.second)
      s.second->reset();
    else
      s.second = std::make_unique<T>();
    gen_ = (gen_ + 1) & kGenMask;
    if (gen_ == 0) gen_ = 1;  // an id is never 0
    s.first = (gen_ << 32) | slot;
    s.second->id = s.first;
    ++live_;
    return s.second.get();
  }

  iterator begin() { return iterator(&slots_, 0); }
  iterator end() { return iterator(&slots_, slots_.size()); }

  iterator find(uint64_t id) {
    uint64_t slot = id & 0xffffffffu;
    if (id == 0 || slot >= slots_.size() || slots_[slot].first != id) return end();
    return iterator(&slots_, slot);
  }

  void erase(iterator it) {
    if (it == end()) return;
    it->first = 0;
    free_.push_back(static_cast<uint32_t>(it.i_));
    --live_;
  }
  void erase(uint64_t id) { erase(find(id)); }

  // The entry of a live id (as the map's operator[] on a present key).
  std::unique_ptr<T>& operator[](uint64_t id) { return slots_[id & 0xffffffffu].second; }

  size_t size() const { return live_; }

 private:
  // Ids fit the 60 bits a work request id has for them (make_wr).
  static constexpr uint64_t kGenMask = (1ull << 28) - 1;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
  uint64_t gen_ = 0;
};

}  // namespace vefa

#endif
