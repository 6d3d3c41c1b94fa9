#include "vefa_stage.h"

#include <gtest/gtest.h>

using vefa::StageSpace;

TEST(VefaStage, NoAreaStagesNothing) {
  StageSpace s;
  EXPECT_FALSE(s.fits(1));
  EXPECT_FALSE(s.take(1).has_value());
}

TEST(VefaStage, ReadsLargerThanTheAreaNeverFit) {
  StageSpace s(1 << 20, 64 << 10);
  EXPECT_TRUE(s.fits(1 << 20));
  EXPECT_FALSE(s.fits((1 << 20) + 1));
  EXPECT_FALSE(s.fits(0));
  EXPECT_FALSE(s.take((1 << 20) + 1).has_value());
}

TEST(VefaStage, TakesDisjointBlocksUntilFull) {
  StageSpace s(256 << 10, 64 << 10);  // four blocks
  auto a = s.take(100 << 10);         // two blocks
  auto b = s.take(1);                 // one
  auto c = s.take(64 << 10);          // one
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, 0u);
  EXPECT_EQ(*b, 128u << 10);
  EXPECT_EQ(*c, 192u << 10);
  EXPECT_EQ(s.used_blocks(), 4u);
  EXPECT_FALSE(s.take(1).has_value());
}

TEST(VefaStage, OutOfOrderReturnsAreReused) {
  StageSpace s(256 << 10, 64 << 10);
  auto a = s.take(64 << 10), b = s.take(64 << 10), c = s.take(128 << 10);
  ASSERT_TRUE(a && b && c);
  s.give(*b, 64 << 10);  // a hole in the middle: one block
  EXPECT_FALSE(s.take(128 << 10).has_value());
  auto d = s.take(10);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, *b);
  s.give(*a, 64 << 10);
  s.give(*d, 10);
  auto e = s.take(128 << 10);  // the two freed blocks are contiguous again
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, 0u);
  s.give(*e, 128 << 10);
  s.give(*c, 128 << 10);
  EXPECT_EQ(s.used_blocks(), 0u);
}
