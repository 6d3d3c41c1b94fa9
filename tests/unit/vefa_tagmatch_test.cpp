// vefa provider: receive matching (posted and unexpected queues).
#include <gtest/gtest.h>

#include "vefa_tagmatch.h"

using vefa::kAnySrc;
using vefa::MatchQueues;

TEST(VefaTagMatch, FirstPostedMatchWinsInPostingOrder) {
  MatchQueues q;
  q.post({1, 0x10, 0, kAnySrc, nullptr});
  q.post({2, 0x10, 0, kAnySrc, nullptr});
  auto m = q.find_posted(0x10, 7);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(*m, 1u);
  EXPECT_TRUE(q.erase_posted(1));
  EXPECT_EQ(*q.find_posted(0x10, 7), 2u);
  EXPECT_FALSE(q.find_posted(0x11, 7).has_value());
}

TEST(VefaTagMatch, IgnoreBits) {
  MatchQueues q;
  q.post({1, 0xab00, 0x00ff, kAnySrc, nullptr});
  EXPECT_TRUE(q.find_posted(0xab42, 1).has_value());
  EXPECT_TRUE(q.find_posted(0xabff, 1).has_value());
  EXPECT_FALSE(q.find_posted(0xac00, 1).has_value());
  EXPECT_TRUE(vefa::tag_matches(0, ~0ull, 0x1234));
}

TEST(VefaTagMatch, DirectedReceive) {
  MatchQueues q;
  q.post({1, 5, 0, /*src*/ 42, nullptr});
  q.post({2, 5, 0, kAnySrc, nullptr});
  EXPECT_EQ(*q.find_posted(5, 42), 1u);
  EXPECT_EQ(*q.find_posted(5, 43), 2u);  // skips the receive directed elsewhere
  MatchQueues u;
  u.add_unexpected({10, 5, 43, nullptr});
  u.add_unexpected({11, 5, 42, nullptr});
  EXPECT_EQ(*u.find_unexpected(5, 0, 42), 11u);
  EXPECT_EQ(*u.find_unexpected(5, 0, kAnySrc), 10u);
}

TEST(VefaTagMatch, UnexpectedQueueInArrivalOrder) {
  MatchQueues q;
  q.add_unexpected({1, 7, 1, nullptr});
  q.add_unexpected({2, 7, 1, nullptr});
  q.add_unexpected({3, 8, 1, nullptr});
  EXPECT_EQ(*q.find_unexpected(7, 0, kAnySrc), 1u);
  EXPECT_EQ(*q.find_unexpected(0, ~0ull, kAnySrc), 1u);
  EXPECT_EQ(*q.find_unexpected(8, 0, kAnySrc), 3u);
  EXPECT_TRUE(q.erase_unexpected(1));
  EXPECT_EQ(*q.find_unexpected(7, 0, kAnySrc), 2u);
  EXPECT_FALSE(q.erase_unexpected(1));
  EXPECT_EQ(q.unexpected_count(), 2u);
}

TEST(VefaTagMatch, PeekClaim) {
  MatchQueues q;
  int ctx_a = 0, ctx_b = 0;
  q.add_unexpected({1, 7, 1, nullptr});
  q.add_unexpected({2, 7, 1, nullptr});
  auto m = q.find_unexpected(7, 0, kAnySrc);
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(q.claim(*m, &ctx_a));
  EXPECT_FALSE(q.claim(*m, &ctx_b));  // already claimed
  // A claimed message is invisible to other receives.
  EXPECT_EQ(*q.find_unexpected(7, 0, kAnySrc), 2u);
  EXPECT_EQ(*q.find_claimed(&ctx_a), 1u);
  EXPECT_FALSE(q.find_claimed(&ctx_b).has_value());
}

TEST(VefaTagMatch, CancelByContext) {
  MatchQueues q;
  int a = 0, b = 0;
  q.post({1, 1, 0, kAnySrc, &a});
  q.post({2, 1, 0, kAnySrc, &b});
  auto c = q.cancel(&b);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, 2u);
  EXPECT_FALSE(q.cancel(&b).has_value());
  EXPECT_EQ(q.posted_count(), 1u);
}
