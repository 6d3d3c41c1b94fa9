// The device ABI's layout, the VF region the daemon builds from it, and the
// driver's ring helpers (drivers/ena/vena_queue.h) running on a real region.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "vena_queue.h"
#include "venic_abi.h"
#include "vf_region.h"

namespace venic {
namespace {

using vf::VfConfig;
using vf::VfRegion;

// ---- ABI layout ---------------------------------------------------------------

TEST(AbiLayout, RingHeaderKeepsProdAndConsOnSeparateCacheLines) {
  EXPECT_EQ(sizeof(venic_ring), 2u * VENIC_CACHE_LINE);
  EXPECT_EQ(offsetof(venic_ring, prod), 0u);
  EXPECT_EQ(offsetof(venic_ring, cons), size_t(VENIC_CACHE_LINE));
  EXPECT_EQ(VENIC_RING_HDR_SIZE, 128u);
}

TEST(AbiLayout, EntrySizes) {
  EXPECT_EQ(sizeof(venic_desc), 16u);
  EXPECT_EQ(offsetof(venic_desc, len), 8u);
  EXPECT_EQ(offsetof(venic_desc, mem_id), 12u);
  EXPECT_EQ(offsetof(venic_desc, flags), 14u);
  EXPECT_EQ(sizeof(venic_cqe), 16u);
  EXPECT_EQ(offsetof(venic_cqe, rss_hash), 8u);
  EXPECT_EQ(sizeof(venic_admin_cmd), 64u);
  EXPECT_EQ(sizeof(venic_admin_cqe), 64u);
  EXPECT_EQ(offsetof(venic_admin_cqe, status), 4u);
  EXPECT_EQ(sizeof(venic_event), 16u);
  EXPECT_EQ(offsetof(venic_event, seq), 8u);
}

TEST(AbiLayout, RegisterPage) {
  EXPECT_EQ(sizeof(venic_regs), size_t(VENIC_PAGE_SIZE));
  EXPECT_EQ(offsetof(venic_regs, region_size), 16u);
  EXPECT_EQ(offsetof(venic_regs, stats_off), 56u);
  EXPECT_EQ(offsetof(venic_regs, qp), 104u);
  EXPECT_EQ(sizeof(venic_qp_layout), 40u);
  EXPECT_EQ(offsetof(venic_regs, mac), 424u);
  EXPECT_EQ(offsetof(venic_regs, mtu), 430u);
  EXPECT_EQ(offsetof(venic_regs, link_status), 436u);
  EXPECT_EQ(offsetof(venic_regs, heartbeat), 456u);
  EXPECT_EQ(offsetof(venic_regs, reset_count), 464u);
  EXPECT_EQ(offsetof(venic_regs, reta_size), 472u);
  EXPECT_EQ(offsetof(venic_regs, reserved), 480u);
  EXPECT_LE(sizeof(venic_stats), size_t(VENIC_PAGE_SIZE));
  EXPECT_EQ(offsetof(venic_stats, drops), 16u * 8u);
  EXPECT_LE(VENIC_FRAME_MAX, VENIC_MAX_SEGS * VENIC_COPY_BUF_SIZE);
}

// ---- VF region -------------------------------------------------------------------

VfConfig config(uint8_t queues = 4) {
  VfConfig c;
  c.id = 3;
  c.mac = {0x02, 0, 0, 0, 0, 0x03};
  c.ip = 0x0a00010a;
  c.mtu = 9001;
  c.trusted = true;
  c.queues = queues;
  return c;
}

class VfRegionLayout : public ::testing::TestWithParam<uint8_t> {};

TEST_P(VfRegionLayout, IdentityAndStateFields) {
  const VfConfig cfg = config(GetParam());
  VfRegion region(cfg);
  const venic_regs* r = region.regs();
  EXPECT_EQ(r->magic, VENIC_ABI_MAGIC);
  EXPECT_EQ(r->abi_major, VENIC_ABI_MAJOR);
  EXPECT_EQ(r->abi_minor, VENIC_ABI_MINOR);
  EXPECT_EQ(r->vf_id, 3u);
  EXPECT_EQ(r->personality, uint32_t(VENIC_PERSONALITY_ENA));
  EXPECT_EQ(r->region_size, region.size());
  EXPECT_EQ(r->max_qps, cfg.queues);
  EXPECT_EQ(r->ring_size, vf::kRingSize);
  EXPECT_EQ(r->buf_size, uint32_t(VENIC_COPY_BUF_SIZE));
  EXPECT_EQ(r->admin_ring_size, vf::kAdminRingSize);
  EXPECT_EQ(r->event_ring_size, vf::kEventRingSize);
  EXPECT_EQ(r->max_dma_regions, uint32_t(VENIC_MAX_DMA_REGIONS));
  EXPECT_TRUE(r->features & VENIC_F_JUMBO);
  EXPECT_TRUE(r->features & VENIC_F_MULTI_SEG);
  EXPECT_EQ(std::memcmp(r->mac, cfg.mac.data(), 6), 0);
  EXPECT_EQ(r->mtu, 9001);
  EXPECT_EQ(r->min_mtu, VENIC_MTU_MIN);
  EXPECT_EQ(r->max_mtu, VENIC_MTU_MAX);
  EXPECT_EQ(r->link_status, VENIC_LINK_UP);
  EXPECT_EQ(r->flags, uint32_t(VENIC_VF_TRUSTED));
  EXPECT_EQ(r->active_qps, 0u);
  // A driver mapping the fd sees exactly region_size bytes.
  struct stat st {};
  ASSERT_EQ(::fstat(region.fd(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), r->region_size);
}

TEST_P(VfRegionLayout, EveryRingAndBufferLiesInsideTheRegionWithoutOverlap) {
  VfRegion region(config(GetParam()));
  const venic_regs* r = region.regs();
  struct Range {
    std::string name;
    uint64_t off, len;
    uint64_t align;
  };
  const uint64_t rs = r->ring_size;
  const uint64_t bufs = rs * r->buf_size;
  std::vector<Range> ranges = {
      {"regs", 0, sizeof(venic_regs), VENIC_PAGE_SIZE},
      {"stats", r->stats_off, sizeof(venic_stats), VENIC_CACHE_LINE},
      {"admin_sq", r->admin_sq_off, VENIC_RING_HDR_SIZE + r->admin_ring_size * sizeof(venic_admin_cmd),
       VENIC_CACHE_LINE},
      {"admin_cq", r->admin_cq_off, VENIC_RING_HDR_SIZE + r->admin_ring_size * sizeof(venic_admin_cqe),
       VENIC_CACHE_LINE},
      {"event", r->event_off, VENIC_RING_HDR_SIZE + r->event_ring_size * sizeof(venic_event), VENIC_CACHE_LINE},
  };
  for (uint32_t q = 0; q < r->max_qps; q++) {
    const venic_qp_layout& l = r->qp[q];
    std::string p = "qp" + std::to_string(q) + ".";
    ranges.push_back({p + "tx_sq", l.tx_sq_off, VENIC_RING_HDR_SIZE + rs * sizeof(venic_desc), VENIC_CACHE_LINE});
    ranges.push_back({p + "rx_sq", l.rx_sq_off, VENIC_RING_HDR_SIZE + rs * sizeof(venic_desc), VENIC_CACHE_LINE});
    ranges.push_back({p + "rx_cq", l.rx_cq_off, VENIC_RING_HDR_SIZE + rs * sizeof(venic_cqe), VENIC_CACHE_LINE});
    ranges.push_back({p + "tx_buf", l.tx_buf_off, bufs, VENIC_CACHE_LINE});
    ranges.push_back({p + "rx_buf", l.rx_buf_off, bufs, VENIC_CACHE_LINE});
    // Copy-mode buffers are where the buffer area says they are.
    for (uint64_t off : {l.tx_buf_off, l.rx_buf_off}) {
      EXPECT_GE(off, r->buf_area_off) << p;
      EXPECT_LE(off + bufs, r->buf_area_off + r->buf_area_size) << p;
    }
  }
  EXPECT_LE(r->buf_area_off + r->buf_area_size, r->region_size);
  for (const auto& a : ranges) {
    EXPECT_LE(a.off + a.len, r->region_size) << a.name << " ends outside the region";
    EXPECT_EQ(a.off % a.align, 0u) << a.name << " is misaligned";
  }
  for (size_t i = 0; i < ranges.size(); i++)
    for (size_t j = i + 1; j < ranges.size(); j++) {
      const Range& a = ranges[i];
      const Range& b = ranges[j];
      EXPECT_TRUE(a.off + a.len <= b.off || b.off + b.len <= a.off) << a.name << " overlaps " << b.name;
    }
}

INSTANTIATE_TEST_SUITE_P(Queues, VfRegionLayout, ::testing::Values(uint8_t{1}, uint8_t{4}, uint8_t{8}));

TEST(VfRegion, MemfdIsSealedAgainstResizing) {
  VfRegion region(config());
  int seals = ::fcntl(region.fd(), F_GET_SEALS);
  ASSERT_GE(seals, 0) << std::strerror(errno);
  EXPECT_TRUE(seals & F_SEAL_SHRINK);
  EXPECT_TRUE(seals & F_SEAL_GROW);
  EXPECT_TRUE(seals & F_SEAL_SEAL) << "a client could add a write seal and stall the daemon";
  // A hostile driver holding the fd cannot pull pages out from under us.
  EXPECT_EQ(::ftruncate(region.fd(), off_t(region.size() - VENIC_PAGE_SIZE)), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(region.fd(), 0), -1);
  struct stat st {};
  ASSERT_EQ(::fstat(region.fd(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), region.size());
}

TEST(VfRegion, PostEventFillsTheRingAndRefusesWhenFull) {
  VfRegion region(config());
  const venic_regs* r = region.regs();
  venic_ring* ring = region.ring(r->event_off);
  venic_event* ev = region.entries<venic_event>(r->event_off);
  ASSERT_EQ(r->event_ring_size, 256u);
  for (uint32_t i = 0; i < 256; i++) ASSERT_TRUE(region.post_event(VENIC_EVENT_LINK_CHANGE, i)) << "event " << i;
  EXPECT_EQ(ring->prod, 256u);
  EXPECT_FALSE(region.post_event(VENIC_EVENT_RESET, 0)) << "the 257th event overwrote one the driver has not read";
  EXPECT_EQ(ring->prod, 256u);
  for (uint32_t i = 0; i < 256; i++) {
    EXPECT_EQ(ev[i].type, VENIC_EVENT_LINK_CHANGE);
    EXPECT_EQ(ev[i].data, i);
    EXPECT_EQ(ev[i].seq, i + 1);
  }
  // Once the driver consumes one, one more fits, in the first slot.
  ring->cons = 1;
  EXPECT_TRUE(region.post_event(VENIC_EVENT_REMOVAL, 77));
  EXPECT_FALSE(region.post_event(VENIC_EVENT_REMOVAL, 78));
  EXPECT_EQ(ring->prod, 257u);
  EXPECT_EQ(ev[0].type, VENIC_EVENT_REMOVAL);
  EXPECT_EQ(ev[0].data, 77u);
  EXPECT_EQ(ev[0].seq, 257u);
}

TEST(VfRegion, ResetRingsZeroesIndicesAndRestartsEvents) {
  VfRegion region(config());
  const venic_regs* r = region.regs();
  for (int i = 0; i < 10; i++) ASSERT_TRUE(region.post_event(VENIC_EVENT_LINK_CHANGE, 1));
  region.ring(r->event_off)->cons = 10;
  region.ring(r->qp[1].tx_sq_off)->prod = 5;
  region.ring(r->qp[1].rx_cq_off)->cons = 9;
  region.ring(r->admin_sq_off)->prod = 3;
  region.reset_rings();
  EXPECT_EQ(region.ring(r->event_off)->prod, 0u);
  EXPECT_EQ(region.ring(r->event_off)->cons, 0u);
  EXPECT_EQ(region.ring(r->qp[1].tx_sq_off)->prod, 0u);
  EXPECT_EQ(region.ring(r->qp[1].rx_cq_off)->cons, 0u);
  EXPECT_EQ(region.ring(r->admin_sq_off)->prod, 0u);
  // The event producer restarted too: the next event goes to slot 0.
  ASSERT_TRUE(region.post_event(VENIC_EVENT_RESET, 5));
  EXPECT_EQ(region.ring(r->event_off)->prod, 1u);
  EXPECT_EQ(region.entries<venic_event>(r->event_off)[0].type, VENIC_EVENT_RESET);
}

// ---- driver ring helpers ----------------------------------------------------------

// Binds queues to queue pair qp the way vena_txq_init/vena_rxq_init do, without
// a daemon connection.
vena_txq make_txq(VfRegion& region, unsigned qp = 0) {
  vena_txq q{};
  EXPECT_EQ(vena_txq_bind(region.base(), region.size(), region.regs(), qp, &q), 0);
  return q;
}

vena_rxq make_rxq(VfRegion& region, unsigned qp = 0) {
  vena_rxq q{};
  EXPECT_EQ(vena_rxq_bind(region.base(), region.size(), region.regs(), qp, &q), 0);
  return q;
}

std::vector<uint8_t> pattern(uint32_t len, uint8_t salt = 0) {
  std::vector<uint8_t> v(len);
  for (uint32_t i = 0; i < len; i++) v[i] = uint8_t(i * 13 + (i >> 8) + salt);
  return v;
}

// What the daemon reads for the packet whose first descriptor is at index
// `first`: the segments' bytes glued together (mem_id 0 = the region).
std::vector<uint8_t> gather(VfRegion& region, const vena_txq& q, uint32_t first, uint32_t* nseg) {
  std::vector<uint8_t> out;
  *nseg = 0;
  for (uint32_t i = first;; i++) {
    const venic_desc& d = q.desc[i & q.mask];
    EXPECT_EQ(d.mem_id, VENIC_MEM_REGION_BUFS);
    EXPECT_LE(d.addr + d.len, region.size());
    out.insert(out.end(), region.base() + d.addr, region.base() + d.addr + d.len);
    ++*nseg;
    if (!(d.flags & VENIC_DESC_F_MORE) || *nseg > VENIC_MAX_SEGS) break;
  }
  return out;
}

class TxRing : public ::testing::Test {
 protected:
  VfRegion region{config()};
  vena_txq q = make_txq(region);
};

TEST_F(TxRing, SmallFrameTakesOneDescriptorAndIsPublishedOnFlush) {
  auto f = pattern(60);
  ASSERT_EQ(vena_txq_send_copy(&q, f.data(), 60), 0);
  EXPECT_EQ(q.prod, 1u);
  EXPECT_EQ(q.sq->prod, 0u) << "published before vena_txq_flush";
  vena_txq_flush(&q);
  EXPECT_EQ(q.sq->prod, 1u);
  const venic_desc& d = q.desc[0];
  EXPECT_EQ(d.addr, region.regs()->qp[0].tx_buf_off);
  EXPECT_EQ(d.len, 60u);
  EXPECT_EQ(d.mem_id, VENIC_MEM_REGION_BUFS);
  EXPECT_EQ(d.flags, 0);
  EXPECT_EQ(std::memcmp(region.base() + d.addr, f.data(), 60), 0);

  // The next frame goes to the next slot's buffer.
  ASSERT_EQ(vena_txq_send_copy(&q, f.data(), 42), 0);
  EXPECT_EQ(q.desc[1].addr, region.regs()->qp[0].tx_buf_off + VENIC_COPY_BUF_SIZE);
  EXPECT_EQ(q.desc[1].len, 42u);
}

TEST_F(TxRing, FramesSplitIntoBufferSizedSegments) {
  for (uint32_t len : {2047u, 2048u, 2049u, 4096u, 9019u}) {
    SCOPED_TRACE("len " + std::to_string(len));
    const uint32_t first = q.prod;
    auto f = pattern(len, uint8_t(len));
    ASSERT_EQ(vena_txq_send_copy(&q, f.data(), len), 0);
    const uint32_t want = (len + VENIC_COPY_BUF_SIZE - 1) / VENIC_COPY_BUF_SIZE;
    EXPECT_EQ(q.prod - first, want);
    for (uint32_t s = 0; s < want; s++) {
      const venic_desc& d = q.desc[(first + s) & q.mask];
      EXPECT_EQ(d.len, s + 1 < want ? VENIC_COPY_BUF_SIZE : len - (want - 1) * VENIC_COPY_BUF_SIZE) << "seg " << s;
      EXPECT_EQ(d.flags, s + 1 < want ? VENIC_DESC_F_MORE : 0u) << "seg " << s;
    }
    uint32_t nseg = 0;
    EXPECT_EQ(gather(region, q, first, &nseg), f);
    EXPECT_EQ(nseg, want);
  }
  EXPECT_EQ((9019u + 2047) / 2048, 5u);
}

TEST_F(TxRing, OversizeFrameIsRefusedWithoutTouchingTheRing) {
  auto f = pattern(VENIC_FRAME_MAX + 1);
  EXPECT_EQ(vena_txq_send_copy(&q, f.data(), VENIC_FRAME_MAX + 1), -EMSGSIZE);
  EXPECT_EQ(q.prod, 0u);
  EXPECT_EQ(vena_txq_send_copy(&q, f.data(), VENIC_FRAME_MAX), 0);
}

TEST_F(TxRing, FullRingReturnsEnospcUntilTheDaemonCompletes) {
  auto f = pattern(64);
  for (uint32_t i = 0; i < q.size; i++) ASSERT_EQ(vena_txq_send_copy(&q, f.data(), 64), 0) << "entry " << i;
  EXPECT_EQ(vena_txq_send_copy(&q, f.data(), 64), -ENOSPC);
  EXPECT_EQ(q.prod, q.size) << "a refused send moved prod";
  vena_txq_flush(&q);
  EXPECT_EQ(vena_txq_space(&q), 0u);

  // The daemon completes three entries: a 3-segment frame fits, a 4-segment one not.
  __atomic_store_n(&q.sq->cons, 3u, __ATOMIC_RELEASE);
  auto big = pattern(4 * VENIC_COPY_BUF_SIZE);
  EXPECT_EQ(vena_txq_send_copy(&q, big.data(), 4 * VENIC_COPY_BUF_SIZE), -ENOSPC);
  EXPECT_EQ(q.prod, q.size);
  EXPECT_EQ(vena_txq_send_copy(&q, big.data(), 3 * VENIC_COPY_BUF_SIZE), 0);
  EXPECT_EQ(q.prod, q.size + 3);
  EXPECT_EQ(vena_txq_send_copy(&q, f.data(), 64), -ENOSPC);
}

TEST_F(TxRing, IndicesWrapPast2To32) {
  // Free-running indices: start just below the wrap, as after ~4G packets.
  const uint32_t start = UINT32_MAX - 2;
  q.sq->prod = q.sq->cons = start;
  q = make_txq(region);
  auto f = pattern(9019);
  ASSERT_EQ(vena_txq_send_copy(&q, f.data(), 9019), 0);
  EXPECT_EQ(q.prod, 2u);  // start + 5, modulo 2^32
  // Slots 1021, 1022, 1023, 0, 1.
  for (uint32_t s = 0; s < 5; s++) {
    const uint32_t slot = (start + s) & q.mask;
    EXPECT_EQ(q.desc[slot].addr, q.bufs_off + uint64_t(slot) * VENIC_COPY_BUF_SIZE) << "seg " << s;
    EXPECT_EQ(q.desc[slot].flags, s < 4 ? VENIC_DESC_F_MORE : 0u) << "seg " << s;
  }
  uint32_t nseg = 0;
  EXPECT_EQ(gather(region, q, start, &nseg), f);
  vena_txq_flush(&q);
  EXPECT_EQ(q.sq->prod, 2u);
  EXPECT_EQ(vena_txq_space(&q), q.size - 5);

  // Capacity is unchanged across the wrap: exactly size - 5 more fit.
  uint32_t sent = 0;
  while (vena_txq_send_copy(&q, f.data(), 60) == 0 && sent <= q.size) sent++;
  EXPECT_EQ(sent, q.size - 5);
}

class RxRing : public ::testing::Test {
 protected:
  VfRegion region{config()};
  vena_rxq q = make_rxq(region);

  // The daemon's side: fills the next completion with `data`, segmenting it.
  uint32_t daemon_prod = 0;
  void deliver(const std::vector<uint8_t>& data) {
    uint32_t off = 0;
    do {
      const uint32_t slot = daemon_prod & q.mask;
      const venic_desc& d = q.desc[slot];
      uint32_t chunk = std::min<uint32_t>(d.len, uint32_t(data.size()) - off);
      std::memcpy(region.base() + d.addr, data.data() + off, chunk);
      off += chunk;
      q.cqe[slot] = venic_cqe{chunk, uint16_t(off < data.size() ? VENIC_CQE_F_MORE : 0), 0, 0, 0};
      daemon_prod++;
    } while (off < data.size());
  }
  void publish() { __atomic_store_n(&q.cq->prod, daemon_prod, __ATOMIC_RELEASE); }
};

TEST_F(RxRing, PostFillsEverySlotWithItsBuffer) {
  vena_rxq_post_copy(&q);
  EXPECT_EQ(q.sq->prod, q.size);
  EXPECT_EQ(q.sq_prod, q.size);
  for (uint32_t i = 0; i < q.size; i++) {
    const venic_desc& d = q.desc[i];
    ASSERT_EQ(d.addr, region.regs()->qp[0].rx_buf_off + uint64_t(i) * VENIC_COPY_BUF_SIZE) << "slot " << i;
    ASSERT_EQ(d.len, uint32_t(VENIC_COPY_BUF_SIZE)) << "slot " << i;
    ASSERT_EQ(d.mem_id, VENIC_MEM_REGION_BUFS);
    ASSERT_EQ(d.flags, 0);
  }
  // Nothing completed: posting again adds nothing.
  vena_rxq_post_copy(&q);
  EXPECT_EQ(q.sq->prod, q.size);
}

TEST_F(RxRing, ReceiveCopiesOutAndReposts) {
  vena_rxq_post_copy(&q);
  std::vector<uint8_t> out(VENIC_FRAME_MAX);
  EXPECT_EQ(vena_rxq_recv_copy(&q, out.data(), uint32_t(out.size())), 0) << "nothing was delivered";

  auto small = pattern(60, 1);
  auto jumbo = pattern(9019, 2);
  deliver(small);
  deliver(jumbo);
  publish();
  ASSERT_EQ(vena_rxq_recv_copy(&q, out.data(), uint32_t(out.size())), 60);
  EXPECT_TRUE(std::equal(small.begin(), small.end(), out.begin()));
  EXPECT_EQ(q.cq->cons, 1u);
  EXPECT_EQ(q.sq->prod, q.size + 1) << "the consumed buffer was not reposted";

  ASSERT_EQ(vena_rxq_recv_copy(&q, out.data(), uint32_t(out.size())), 9019);
  EXPECT_TRUE(std::equal(jumbo.begin(), jumbo.end(), out.begin()));
  EXPECT_EQ(q.cq->cons, 6u);
  EXPECT_EQ(q.sq->prod, q.size + 6);
}

TEST_F(RxRing, IncompleteMultiSegmentFrameIsNotConsumed) {
  vena_rxq_post_copy(&q);
  deliver(pattern(5000));
  // Publish only the first two of three segments.
  __atomic_store_n(&q.cq->prod, 2u, __ATOMIC_RELEASE);
  std::vector<uint8_t> out(VENIC_FRAME_MAX);
  EXPECT_EQ(vena_rxq_recv_copy(&q, out.data(), uint32_t(out.size())), 0);
  EXPECT_EQ(q.cq_cons, 0u);
  publish();
  EXPECT_EQ(vena_rxq_recv_copy(&q, out.data(), uint32_t(out.size())), 5000);
}

TEST_F(RxRing, FrameLargerThanTheCallersBufferIsDropped) {
  vena_rxq_post_copy(&q);
  deliver(pattern(3000));
  deliver(pattern(100, 9));
  publish();
  std::vector<uint8_t> out(1500);
  EXPECT_EQ(vena_rxq_recv_copy(&q, out.data(), 1500), -EMSGSIZE);
  EXPECT_EQ(q.cq_cons, 2u) << "the dropped frame must still be consumed";
  EXPECT_EQ(vena_rxq_recv_copy(&q, out.data(), 1500), 100);
}

TEST_F(RxRing, IndicesWrapPast2To32) {
  const uint32_t start = UINT32_MAX - 1;
  q.sq->prod = start;
  q.cq->prod = q.cq->cons = start;
  q = make_rxq(region);
  daemon_prod = start;
  vena_rxq_post_copy(&q);
  EXPECT_EQ(q.sq->prod, start + q.size);  // wrapped
  EXPECT_EQ(q.sq->prod - start, q.size);
  auto f = pattern(4100, 3);  // three segments: slots 1022, 1023, 0
  deliver(f);
  publish();
  std::vector<uint8_t> out(VENIC_FRAME_MAX);
  ASSERT_EQ(vena_rxq_recv_copy(&q, out.data(), uint32_t(out.size())), 4100);
  EXPECT_TRUE(std::equal(f.begin(), f.end(), out.begin()));
  EXPECT_EQ(q.cq->cons, 1u);
  EXPECT_EQ(q.sq->prod - q.cq->cons, q.size) << "every slot is posted again";
}

}  // namespace
}  // namespace venic
