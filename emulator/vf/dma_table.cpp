#include "dma_table.h"

#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace venic::vf {

DmaTable::~DmaTable() {
  for (auto& m : own_) ::munmap(m.addr, m.len);
}

void DmaTable::map(int fd, uint64_t offset, uint64_t len, uint64_t client_va) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) throw std::system_error(errno, std::generic_category(), "fstat");
  if (!S_ISREG(st.st_mode)) throw std::invalid_argument("memory fd is not a regular file");
  // Only memory-backed files: a file on a network or FUSE mount could stall a
  // worker in a page fault that never completes.
  struct statfs fs {};
  if (::fstatfs(fd, &fs) < 0) throw std::system_error(errno, std::generic_category(), "fstatfs");
  if (fs.f_type != TMPFS_MAGIC && fs.f_type != HUGETLBFS_MAGIC)
    throw std::invalid_argument("memory fd is not memfd, tmpfs or hugetlbfs memory");
  if (len == 0 || offset + len < offset || offset + len > static_cast<uint64_t>(st.st_size))
    throw std::invalid_argument("range [offset, offset+len) is outside the file");
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap registered memory");
  own_.push_back({p, len});
  regions_.push_back({static_cast<uint8_t*>(p), len, client_va});
}

void DmaTable::inherit(const std::shared_ptr<const DmaTable>& other) {
  if (!other) return;
  parent_ = other;
  regions_.insert(regions_.begin(), other->regions_.begin(), other->regions_.end());
}

}  // namespace venic::vf
