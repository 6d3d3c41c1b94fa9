// vefa provider: the address vector's storage and reverse lookup (FI_SOURCE).
#include <gtest/gtest.h>

#include <cstring>

#include "vefa_avcore.h"

using vefa::AvCore;
using vefa::EpName;

static EpName name(uint8_t g, uint16_t qpn, uint32_t conn = 1) {
  EpName n = {};
  memset(n.gid, g, sizeof(n.gid));
  n.qpn = qpn;
  n.qkey = 0x1234;
  n.conn_id = conn;
  return n;
}

TEST(VefaAv, InsertLookupInOrder) {
  AvCore av;
  EXPECT_EQ(av.insert(name(1, 10), 3), 0u);
  EXPECT_EQ(av.insert(name(2, 11), 4), 1u);
  const AvCore::Entry* e = av.lookup(1);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->ah, 4);
  EXPECT_EQ(e->name.qpn, 11);
  EXPECT_EQ(e->name.gid[0], 2);
  EXPECT_EQ(av.lookup(2), nullptr);
  EXPECT_EQ(av.count(), 2u);
}

TEST(VefaAv, ReverseLookupBySender) {
  AvCore av;
  av.insert(name(1, 10), 3);
  av.insert(name(2, 11), 4);
  EXPECT_EQ(*av.reverse(vefa::peer_key(4, 11)), 1u);
  EXPECT_EQ(*av.reverse(vefa::peer_key(3, 10)), 0u);
  EXPECT_FALSE(av.reverse(vefa::peer_key(3, 11)).has_value());
}

TEST(VefaAv, RemoveInvalidatesBothWays) {
  AvCore av;
  av.insert(name(1, 10), 3);
  av.insert(name(2, 11), 4);
  EXPECT_TRUE(av.remove(0));
  EXPECT_FALSE(av.remove(0));
  EXPECT_EQ(av.lookup(0), nullptr);
  EXPECT_FALSE(av.reverse(vefa::peer_key(3, 10)).has_value());
  // Table semantics: indices are not reused.
  EXPECT_EQ(av.insert(name(5, 12), 6), 2u);
  EXPECT_EQ(av.count(), 2u);
}

TEST(VefaAv, ReinsertedPeerAnswersToNewestAddress) {
  AvCore av;
  av.insert(name(1, 10, 1), 3);
  av.insert(name(1, 10, 2), 3);  // same QP, new incarnation
  EXPECT_EQ(*av.reverse(vefa::peer_key(3, 10)), 1u);
  av.remove(1);
  EXPECT_EQ(*av.reverse(vefa::peer_key(3, 10)), 0u);
}
