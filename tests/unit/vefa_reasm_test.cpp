// vefa provider: segmentation and reassembly of medium messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "vefa_reasm.h"

using vefa::Reassembly;
using vefa::Segmenter;
using vefa::SegVerdict;

TEST(VefaSegmenter, CutsIntoFixedSegmentsWithShortTail) {
  Segmenter s{20000, 8136};
  ASSERT_EQ(s.count(), 3u);
  EXPECT_EQ(s.offset(0), 0u);
  EXPECT_EQ(s.offset(2), 16272u);
  EXPECT_EQ(s.size(0), 8136u);
  EXPECT_EQ(s.size(2), 20000u - 16272u);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < s.count(); ++i) sum += s.size(i);
  EXPECT_EQ(sum, 20000u);
}

TEST(VefaSegmenter, ExactMultipleAndEmpty) {
  Segmenter s{3 * 100, 100};
  EXPECT_EQ(s.count(), 3u);
  EXPECT_EQ(s.size(2), 100u);
  Segmenter z{0, 100};
  EXPECT_EQ(z.count(), 1u);
  EXPECT_EQ(z.size(0), 0u);
}

TEST(VefaReassembly, AnyArrivalOrderCompletes) {
  const uint64_t total = 65536;
  const uint32_t seg = 8136;
  Segmenter s{total, seg};
  std::vector<uint64_t> order(s.count());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::shuffle(order.begin(), order.end(), rng);
    Reassembly r(total, seg);
    for (size_t k = 0; k < order.size(); ++k) {
      EXPECT_FALSE(r.complete());
      ASSERT_EQ(r.accept(s.offset(order[k]), s.size(order[k])), SegVerdict::kAccepted);
    }
    EXPECT_TRUE(r.complete());
    EXPECT_EQ(r.segments_received(), s.count());
  }
}

TEST(VefaReassembly, DuplicatesRejected) {
  Reassembly r(300, 100);
  EXPECT_EQ(r.accept(100, 100), SegVerdict::kAccepted);
  EXPECT_EQ(r.accept(100, 100), SegVerdict::kDuplicate);
  EXPECT_EQ(r.segments_received(), 1u);
  EXPECT_FALSE(r.complete());
}

TEST(VefaReassembly, BoundsChecked) {
  Reassembly r(250, 100);
  EXPECT_EQ(r.accept(300, 100), SegVerdict::kOutOfBounds);  // past the end
  EXPECT_EQ(r.accept(50, 100), SegVerdict::kOutOfBounds);   // not on a boundary
  EXPECT_EQ(r.accept(0, 99), SegVerdict::kOutOfBounds);     // wrong length
  EXPECT_EQ(r.accept(200, 100), SegVerdict::kOutOfBounds);  // the tail is 50 bytes
  EXPECT_EQ(r.accept(200, 50), SegVerdict::kAccepted);
  EXPECT_EQ(r.accept(0, 100), SegVerdict::kAccepted);
  EXPECT_EQ(r.accept(100, 100), SegVerdict::kAccepted);
  EXPECT_TRUE(r.complete());
}
