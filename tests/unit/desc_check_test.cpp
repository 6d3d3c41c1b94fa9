// Descriptor validation (fastpath/desc_check): which memory a descriptor may
// name, and how TX descriptors make packets.
#include "desc_check.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace venic::fastpath {
namespace {

venic_desc desc(uint64_t addr, uint32_t len, uint16_t mem_id, bool more = false) {
  return {addr, len, mem_id, static_cast<uint16_t>(more ? VENIC_DESC_F_MORE : 0)};
}

class DescCheckTest : public ::testing::Test {
 protected:
  std::vector<uint8_t> region_ = std::vector<uint8_t>(8192);
  std::vector<uint8_t> dma_mem_ = std::vector<uint8_t>(4096);
  vf::DmaRegion dma_{dma_mem_.data(), dma_mem_.size(), 0x7f0000000000};
  DescMemory mem_{region_.data(), 1024, 4096, &dma_, 1};
};

TEST_F(DescCheckTest, ABufferMustLieWhollyInTheMemoryItsMemIdNames) {
  EXPECT_EQ(translate(mem_, desc(1024, 3072, 0)), region_.data() + 1024);
  EXPECT_EQ(translate(mem_, desc(0, 4096, 1)), dma_mem_.data());
  EXPECT_EQ(translate(mem_, desc(1000, 64, 0)), nullptr);  // below the buffer area
  EXPECT_EQ(translate(mem_, desc(4000, 97, 0)), nullptr);  // past its end
  EXPECT_EQ(translate(mem_, desc(4095, 2, 1)), nullptr);
  EXPECT_EQ(translate(mem_, desc(~0ull - 8, 64, 1)), nullptr);  // wraps
  EXPECT_EQ(translate(mem_, desc(0, 64, 2)), nullptr);          // no such region
  EXPECT_EQ(translate(mem_, desc(1024, 0, 0)), nullptr);        // empty
  EXPECT_EQ(translate(mem_, desc(0, kMaxBufferLen + 1, 1)), nullptr);
}

// The ABI's VENIC_MAX_SEGS descriptors make a packet; one more makes it
// malformed.  17 passed (found by tests/fuzz/tx_desc_fuzz).
TEST_F(DescCheckTest, APacketHasAtMostMaxSegsDescriptors) {
  constexpr uint32_t kMax = VENIC_MAX_SEGS;
  for (uint32_t segs : {1u, kMax - 1, kMax, kMax + 1, kMax + 2}) {
    std::vector<venic_desc> d;
    for (uint32_t s = 0; s < segs; s++) d.push_back(desc(1024 + 64 * s, 64, 0, s + 1 < segs));
    d.push_back(desc(1024, 64, 0));  // the next packet
    OwnedTxPacket tx;
    ASSERT_TRUE(gather_tx_packet(mem_, d.data(), static_cast<uint32_t>(d.size()), 0, tx)) << segs;
    if (segs <= kMax) {
      EXPECT_FALSE(tx.bad) << segs;
      EXPECT_EQ(tx.nseg, segs);
      EXPECT_EQ(tx.total, 64 * segs);
    } else {
      EXPECT_TRUE(tx.bad) << segs;
      EXPECT_LE(tx.nseg, kMax) << "looks no further than the ABI allows";
    }
  }
}

TEST_F(DescCheckTest, AnUnfinishedPacketWaits) {
  const venic_desc d[] = {desc(1024, 64, 0, true), desc(1088, 64, 1, true)};
  OwnedTxPacket tx;
  EXPECT_FALSE(gather_tx_packet(mem_, d, 2, 0, tx));
}

TEST_F(DescCheckTest, OneBadBufferSpoilsThePacket) {
  const venic_desc d[] = {desc(1024, 64, 0, true), desc(4090, 64, 1, true), desc(0, 64, 1)};
  OwnedTxPacket tx;
  ASSERT_TRUE(gather_tx_packet(mem_, d, 3, 0, tx));
  EXPECT_TRUE(tx.bad);
  EXPECT_EQ(tx.end, 2u);
  const venic_desc z[] = {desc(0, 64, 1, true), desc(64, 64, 1)};
  ASSERT_TRUE(gather_tx_packet(mem_, z, 2, 0, tx));
  EXPECT_FALSE(tx.bad);
  EXPECT_TRUE(tx.zero_copy);
}

}  // namespace
}  // namespace venic::fastpath
