// vefa provider: the per-peer reorder buffer that restores send order.
#include <gtest/gtest.h>

#include <vector>

#include "vefa_reorder.h"

using vefa::ReorderBuffer;
using vefa::SeqClass;

// Feeds seqs in the given order and returns the order the buffer releases them.
static std::vector<int> release_order(ReorderBuffer<int>& rb, const std::vector<uint32_t>& arrivals) {
  std::vector<int> out;
  for (uint32_t s : arrivals) {
    switch (rb.classify(s)) {
      case SeqClass::kInOrder:
        out.push_back(static_cast<int>(s));
        rb.advance();
        while (auto v = rb.take_ready()) {
          for (int x : *v) out.push_back(x);
          rb.advance();
        }
        break;
      case SeqClass::kAhead:
        EXPECT_TRUE(rb.hold(s, static_cast<int>(s)));
        break;
      case SeqClass::kBeyond:
      case SeqClass::kStale:
        break;
    }
  }
  return out;
}

TEST(VefaReorder, ReleasesInSequenceOrder) {
  ReorderBuffer<int> rb;
  auto out = release_order(rb, {3, 1, 0, 2, 5, 4});
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(rb.expected(), 6u);
  EXPECT_EQ(rb.held(), 0u);
}

TEST(VefaReorder, HoldsUntilGapFilled) {
  ReorderBuffer<int> rb;
  auto out = release_order(rb, {1, 2, 3});
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(rb.held(), 3u);
  out = release_order(rb, {0});
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3}));
}

TEST(VefaReorder, StaleAndOutOfWindowRejected) {
  ReorderBuffer<int> rb(16, 10);
  EXPECT_EQ(rb.classify(9), SeqClass::kStale);
  EXPECT_EQ(rb.classify(10), SeqClass::kInOrder);
  EXPECT_EQ(rb.classify(25), SeqClass::kAhead);
  EXPECT_EQ(rb.classify(26), SeqClass::kBeyond);  // past the window: kept by the caller, not dropped
  EXPECT_FALSE(rb.hold(26, 1));
  EXPECT_FALSE(rb.hold(10, 1));  // in order: process, do not hold
}

TEST(VefaReorder, SeveralPacketsOfOneMessageHeldTogether) {
  ReorderBuffer<int> rb;
  EXPECT_TRUE(rb.hold(1, 100));
  EXPECT_TRUE(rb.hold(1, 101));
  rb.advance();  // message 0 done
  auto v = rb.take_ready();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, (std::vector<int>{100, 101}));
  EXPECT_FALSE(rb.take_ready().has_value());
}

TEST(VefaReorder, WrapsAround) {
  ReorderBuffer<int> rb(1024, 0xfffffffeu);
  EXPECT_EQ(rb.classify(0xffffffffu), SeqClass::kAhead);
  EXPECT_EQ(rb.classify(1), SeqClass::kAhead);
  EXPECT_EQ(rb.classify(0xfffffffdu), SeqClass::kStale);
  std::vector<int> out;
  for (uint32_t s : {1u, 0u, 0xffffffffu, 0xfffffffeu}) {
    if (rb.classify(s) == SeqClass::kAhead) {
      rb.hold(s, static_cast<int>(s & 0xff));
      continue;
    }
    ASSERT_EQ(rb.classify(s), SeqClass::kInOrder);
    out.push_back(static_cast<int>(s & 0xff));
    rb.advance();
    while (auto v = rb.take_ready()) {
      for (int x : *v) out.push_back(x);
      rb.advance();
    }
  }
  EXPECT_EQ(out, (std::vector<int>{0xfe, 0xff, 0, 1}));
  EXPECT_EQ(rb.expected(), 2u);
  EXPECT_EQ(vefa::seq_diff(1, 0xffffffffu), 2);
}

TEST(VefaReorder, ResetStartsOver) {
  ReorderBuffer<int> rb;
  rb.hold(5, 5);
  rb.reset(0);
  EXPECT_EQ(rb.held(), 0u);
  EXPECT_EQ(rb.expected(), 0u);
}

TEST(VefaReorder, PacketBudgetRefusesWithoutDropping) {
  ReorderBuffer<int> rb(16, 0, 3);
  EXPECT_TRUE(rb.hold(2, 20));
  EXPECT_TRUE(rb.hold(2, 21));  // a second segment of message 2
  EXPECT_TRUE(rb.hold(5, 50));
  EXPECT_EQ(rb.held_packets(), 3u);
  EXPECT_FALSE(rb.hold(1, 10));  // over budget: refused, the caller keeps it
  EXPECT_EQ(rb.held_packets(), 3u);
  EXPECT_EQ(rb.classify(1), SeqClass::kAhead);  // still wanted: retried later
  rb.advance();                                 // 0 released
  EXPECT_FALSE(rb.take_ready().has_value());    // 1 is not held
  rb.advance();                                 // 1 processed by the caller when retried
  auto two = rb.take_ready();
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(*two, (std::vector<int>{20, 21}));
  EXPECT_EQ(rb.held_packets(), 1u);
  EXPECT_TRUE(rb.hold(4, 40));  // room again
  rb.reset(0);
  EXPECT_EQ(rb.held_packets(), 0u);
}
