#include "vf_region.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace venic::vf {

namespace {

uint64_t align_up(uint64_t v, uint64_t a) {
  return (v + a - 1) & ~(a - 1);
}

// Hands out offsets in layout order, each aligned to a cache line (or page).
struct LayoutCursor {
  uint64_t off = 0;
  uint64_t take(uint64_t bytes, uint64_t align = VENIC_CACHE_LINE) {
    off = align_up(off, align);
    uint64_t at = off;
    off += bytes;
    return at;
  }
};

uint64_t ring_bytes(uint32_t entries, uint64_t entry_size) {
  return VENIC_RING_HDR_SIZE + entries * entry_size;
}

[[noreturn]] void fail(const char* what) {
  if (errno == EMFILE || errno == ENFILE)
    throw std::system_error(errno, std::generic_category(),
                            std::string("venicd is out of file descriptors (") + what + ")");
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

VfRegion::VfRegion(const VfConfig& cfg) {
  venic_regs r{};
  r.magic = VENIC_ABI_MAGIC;
  r.abi_major = VENIC_ABI_MAJOR;
  r.abi_minor = VENIC_ABI_MINOR;
  r.vf_id = cfg.id;
  r.personality = static_cast<uint32_t>(cfg.type);
  const DeviceCaps& caps = caps_of(cfg.type);
  r.features = VENIC_F_JUMBO | VENIC_F_MULTI_SEG | VENIC_F_DMA_REGIONS;
  if (caps.allowance_counters) r.features |= VENIC_F_ALLOWANCE_STATS;
  r.reta_size = caps.reta_size;
  r.rss_key_size = caps.rss_key_size;
  r.max_qps = cfg.queues;
  r.ring_size = kRingSize;
  r.buf_size = VENIC_COPY_BUF_SIZE;
  r.admin_ring_size = kAdminRingSize;
  r.event_ring_size = kEventRingSize;
  r.max_dma_regions = VENIC_MAX_DMA_REGIONS;

  LayoutCursor cur;
  cur.take(sizeof(venic_regs), VENIC_PAGE_SIZE);
  r.stats_off = cur.take(sizeof(venic_stats), VENIC_PAGE_SIZE);
  r.admin_sq_off = cur.take(ring_bytes(kAdminRingSize, sizeof(venic_admin_cmd)));
  r.admin_cq_off = cur.take(ring_bytes(kAdminRingSize, sizeof(venic_admin_cqe)));
  r.event_off = cur.take(ring_bytes(kEventRingSize, sizeof(venic_event)));
  for (uint32_t q = 0; q < cfg.queues; q++) {
    r.qp[q].tx_sq_off = cur.take(ring_bytes(kRingSize, sizeof(venic_desc)));
    r.qp[q].rx_sq_off = cur.take(ring_bytes(kRingSize, sizeof(venic_desc)));
    r.qp[q].rx_cq_off = cur.take(ring_bytes(kRingSize, sizeof(venic_cqe)));
  }
  const uint64_t bufs = uint64_t(kRingSize) * VENIC_COPY_BUF_SIZE;
  r.buf_area_off = align_up(cur.off, VENIC_PAGE_SIZE);
  cur.off = r.buf_area_off;
  for (uint32_t q = 0; q < cfg.queues; q++) {
    r.qp[q].tx_buf_off = cur.take(bufs, VENIC_PAGE_SIZE);
    r.qp[q].rx_buf_off = cur.take(bufs, VENIC_PAGE_SIZE);
  }
  r.buf_area_size = cur.off - r.buf_area_off;
  r.region_size = align_up(cur.off, VENIC_PAGE_SIZE);
  size_ = r.region_size;

  std::string name = "venic-vf" + std::to_string(cfg.id);
  fd_.reset(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd_.valid()) fail("memfd_create");
  if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) < 0) fail("ftruncate VF region");
  // A driver must not be able to shrink the region under the daemon (SIGBUS).
  if (::fcntl(fd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) fail("seal VF region");
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (p == MAP_FAILED) fail("mmap VF region");
  base_ = static_cast<uint8_t*>(p);
  std::memcpy(base_, &r, sizeof(r));
  layout_ = r;
  publish_state(cfg, cfg.trusted ? VENIC_VF_TRUSTED : 0, 0);
}

VfRegion::~VfRegion() {
  if (base_) ::munmap(base_, size_);
}

void VfRegion::reset_queue_rings() {
  const venic_regs* r = &layout_;
  for (uint32_t q = 0; q < r->max_qps; q++) {
    for (uint64_t off : {r->qp[q].tx_sq_off, r->qp[q].rx_sq_off, r->qp[q].rx_cq_off}) {
      __atomic_store_n(&ring(off)->prod, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&ring(off)->cons, 0, __ATOMIC_RELAXED);
    }
  }
  __atomic_thread_fence(__ATOMIC_RELEASE);
}

void VfRegion::reset_rings() {
  const venic_regs* r = &layout_;
  // A previous driver may have scribbled over the register page: the next
  // one finds the identity and layout as the daemon made them.
  std::memcpy(base_, &layout_, offsetof(venic_regs, mac));
  regs()->reta_size = layout_.reta_size;
  regs()->rss_key_size = layout_.rss_key_size;
  reset_queue_rings();
  for (uint64_t off : {r->admin_sq_off, r->admin_cq_off, r->event_off}) {
    ring(off)->prod = 0;
    ring(off)->cons = 0;
  }
  event_prod_ = 0;
  __atomic_thread_fence(__ATOMIC_RELEASE);
}

bool VfRegion::post_event(uint16_t type, uint32_t data) {
  const venic_regs* r = &layout_;
  venic_ring* ring_hdr = ring(r->event_off);
  uint32_t cons = __atomic_load_n(&ring_hdr->cons, __ATOMIC_ACQUIRE);
  if (event_prod_ - cons >= kEventRingSize) return false;
  venic_event& e = entries<venic_event>(r->event_off)[event_prod_ & (kEventRingSize - 1)];
  e.type = type;
  e.reserved = 0;
  e.data = data;
  e.seq = ++event_seq_;
  __atomic_store_n(&ring_hdr->prod, ++event_prod_, __ATOMIC_RELEASE);
  return true;
}

void VfRegion::publish_state(const VfConfig& cfg, uint32_t flags, uint32_t active_qps) {
  venic_regs* r = regs();
  std::memcpy(r->mac, cfg.mac.data(), 6);
  r->mtu = cfg.mtu;
  r->min_mtu = VENIC_MTU_MIN;
  r->max_mtu = max_mtu(cfg);
  r->link_speed_mbps = caps_of(cfg.type).link_speed_mbps;
  r->flags = flags;
  r->active_qps = active_qps;
  __atomic_store_n(&r->link_status, cfg.link_up ? VENIC_LINK_UP : VENIC_LINK_DOWN, __ATOMIC_RELEASE);
}

}  // namespace venic::vf
