#include "efa_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <system_error>

namespace venic::efa {

namespace {

uint64_t align_up(uint64_t v, uint64_t a) {
  return (v + a - 1) & ~(a - 1);
}

uint64_t ring_bytes(uint32_t entries, uint64_t entry_size) {
  return VENIC_RING_HDR_SIZE + entries * entry_size;
}

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

EfaRegion::EfaRegion(uint32_t vf_id, uint32_t ctx_id, const uint8_t (&gid)[VENIC_EFA_GID_SIZE],
                     uint32_t link_speed_mbps) {
  venic_efa_regs r{};
  r.magic = VENIC_EFA_MAGIC;
  r.abi_major = VENIC_EFA_ABI_MAJOR;
  r.abi_minor = VENIC_EFA_ABI_MINOR;
  r.vf_id = vf_id;
  r.ctx_id = ctx_id;
  r.max_qps = VENIC_EFA_MAX_QPS;
  r.max_cqs = VENIC_EFA_MAX_CQS;
  r.sq_depth = VENIC_EFA_SQ_DEPTH;
  r.rq_depth = VENIC_EFA_RQ_DEPTH;
  r.cq_depth = VENIC_EFA_CQ_DEPTH;
  r.mtu = VENIC_EFA_MTU;
  r.max_sq_sge = 1;  // the payload is gathered into the slot by the driver
  r.max_rq_sge = 1;
  r.inline_buf_size = VENIC_EFA_MTU;
  r.device_caps =
      VENIC_EFA_CAP_RDMA_READ | VENIC_EFA_CAP_RNR_RETRY | VENIC_EFA_CAP_CQ_WITH_SGID | VENIC_EFA_CAP_RDMA_WRITE;
  r.max_rdma_size = VENIC_EFA_MAX_RDMA_SIZE;
  r.max_mr = VENIC_EFA_MAX_MRS;
  r.link_speed_mbps = link_speed_mbps;
  std::memcpy(r.gid, gid, sizeof(r.gid));
  r.link_status = VENIC_LINK_UP;

  // Rings on their own pages; payload slots page-aligned so that an mtu slot
  // never straddles more pages than it must.
  uint64_t off = VENIC_PAGE_SIZE;
  auto take = [&off](uint64_t bytes) {
    off = align_up(off, VENIC_PAGE_SIZE);
    uint64_t at = off;
    off += bytes;
    return at;
  };
  r.stats_off = take(sizeof(venic_efa_stats));
  for (uint32_t c = 0; c < VENIC_EFA_MAX_CQS; c++) r.cq_off[c] = take(ring_bytes(r.cq_depth, sizeof(venic_efa_cqe)));
  for (uint32_t q = 0; q < VENIC_EFA_MAX_QPS; q++) {
    r.qp[q].sq_off = take(ring_bytes(r.sq_depth, sizeof(venic_efa_wqe)));
    r.qp[q].sq_buf_off = take(uint64_t(r.sq_depth) * r.mtu);
    r.qp[q].rq_off = take(ring_bytes(r.rq_depth, sizeof(venic_efa_rwqe)));
    r.qp[q].rq_buf_off = take(uint64_t(r.rq_depth) * r.mtu);
  }
  // Touched only as staged transfers use it (memfd pages are allocated lazily).
  r.stage_qp_bytes = kStageQpBytes;
  r.stage_off = take(uint64_t(kStageQpBytes) * VENIC_EFA_MAX_QPS);
  r.assist_slots = VENIC_EFA_ASSIST_SLOTS;
  r.assist_bytes = VENIC_EFA_ASSIST_BYTES;
  r.assist_off = take(sizeof(venic_efa_assist) * VENIC_EFA_ASSIST_SLOTS);
  r.assist_buf_off = take(uint64_t(VENIC_EFA_ASSIST_BYTES) * VENIC_EFA_ASSIST_SLOTS);
  size_ = align_up(off, VENIC_PAGE_SIZE);
  r.region_size = size_;

  int fd = ::memfd_create("venic-efa-ctx", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) fail("memfd_create");
  fd_ = UniqueFd(fd);
  if (::ftruncate(fd, static_cast<off_t>(size_)) < 0) fail("ftruncate EFA context region");
  // The process must not shrink the region under the daemon (SIGBUS here).
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) fail("seal EFA context region");
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) fail("mmap EFA context region");
  base_ = static_cast<uint8_t*>(p);
  layout_ = r;
  std::memcpy(base_, &r, sizeof(r));
}

EfaRegion::~EfaRegion() {
  if (base_) ::munmap(base_, size_);
}

void EfaRegion::reset_qp(uint32_t qp) {
  for (uint64_t off : {layout_.qp[qp].sq_off, layout_.qp[qp].rq_off}) {
    venic_ring* r = ring(off);
    __atomic_store_n(&r->prod, 0u, __ATOMIC_RELAXED);
    __atomic_store_n(&r->cons, 0u, __ATOMIC_RELEASE);
  }
}

void EfaRegion::reset_cq(uint32_t cq) {
  venic_ring* r = ring(layout_.cq_off[cq]);
  __atomic_store_n(&r->prod, 0u, __ATOMIC_RELAXED);
  __atomic_store_n(&r->cons, 0u, __ATOMIC_RELEASE);
}

}  // namespace venic::efa
