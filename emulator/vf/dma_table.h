// Memory a driver registered for zero-copy: the client's packet buffers mapped
// into the daemon.  Immutable once built; a new registration builds a new one.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace venic::vf {

struct DmaRegion {
  uint8_t* base = nullptr;
  uint64_t len = 0;
  uint64_t client_va = 0;
};

class DmaTable {
 public:
  DmaTable() = default;
  DmaTable(const DmaTable&) = delete;
  DmaTable& operator=(const DmaTable&) = delete;
  ~DmaTable();

  // Maps len bytes of fd at offset; throws std::system_error / invalid_argument.
  void map(int fd, uint64_t offset, uint64_t len, uint64_t client_va);
  // Adds memory of the daemon's own (an in-daemon driver's packet buffers);
  // the caller keeps it alive as long as any snapshot may use this table.
  void add_own(uint8_t* base, uint64_t len) { regions_.push_back({base, len, reinterpret_cast<uint64_t>(base)}); }
  // Shares the mappings of other (they stay mapped while either table lives).
  void inherit(const std::shared_ptr<const DmaTable>& other);

  const std::vector<DmaRegion>& regions() const { return regions_; }

 private:
  struct Mapping {
    void* addr;
    uint64_t len;
  };
  std::vector<DmaRegion> regions_;
  std::vector<Mapping> own_;
  std::shared_ptr<const DmaTable> parent_;
};

}  // namespace venic::vf
