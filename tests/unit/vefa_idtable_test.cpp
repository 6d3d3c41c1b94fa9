// SPDX-License-Identifier: MIT
#include "vefa_idtable.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace {

struct Entry {
  uint64_t id = 0;
  int value = 0;
  std::vector<int> buf;
  int resets = 0;
  void reset() {
    std::vector<int> keep = std::move(buf);
    keep.clear();
    int r = resets + 1;
    *this = Entry{};
    buf = std::move(keep);
    resets = r;
  }
};

TEST(VefaIdTable, FindsLiveIdsAndNotStaleOnes) {
  vefa::IdTable<Entry> t;
  Entry* a = t.alloc();
  a->value = 1;
  uint64_t old = a->id;
  ASSERT_NE(old, 0u);
  ASSERT_NE(t.find(old), t.end());
  EXPECT_EQ(t.find(old)->second->value, 1);
  t.erase(old);
  EXPECT_EQ(t.find(old), t.end());
  EXPECT_EQ(t.size(), 0u);
  // The slot is reused with a new id: the stale one still finds nothing.
  Entry* b = t.alloc();
  EXPECT_EQ(b, a);  // the same object, reset
  EXPECT_NE(b->id, old);
  EXPECT_EQ(b->value, 0);
  EXPECT_EQ(t.find(old), t.end());
  EXPECT_NE(t.find(b->id), t.end());
  EXPECT_EQ(t.find(0), t.end());
}

TEST(VefaIdTable, ResetKeepsCapacity) {
  vefa::IdTable<Entry> t;
  Entry* a = t.alloc();
  a->buf.resize(100);
  size_t cap = a->buf.capacity();
  t.erase(a->id);
  Entry* b = t.alloc();
  EXPECT_TRUE(b->buf.empty());
  EXPECT_GE(b->buf.capacity(), cap);
  EXPECT_EQ(b->resets, 1);
}

TEST(VefaIdTable, IteratesLiveEntriesOnly) {
  vefa::IdTable<Entry> t;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(t.alloc()->id);
  for (int i = 0; i < 10; i += 2) t.erase(ids[i]);
  std::set<uint64_t> seen;
  for (auto& [id, e] : t) {
    EXPECT_EQ(id, e->id);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 5u);
  for (int i = 1; i < 10; i += 2) EXPECT_TRUE(seen.count(ids[i]));
  EXPECT_EQ(t.size(), 5u);
  // Steady state: alloc/erase reuses slots, the table does not grow.
  for (int i = 0; i < 100000; ++i) t.erase(t.alloc()->id);
  size_t n = 0;
  for (auto& s : t) n += s.first != 0;
  EXPECT_EQ(n, 5u);
}

TEST(VefaIdTable, IdsFitAWorkRequestId) {
  vefa::IdTable<Entry> t;
  for (int i = 0; i < 1000; ++i) {
    uint64_t id = t.alloc()->id;
    EXPECT_LT(id, 1ull << 60);
    t.erase(id);
  }
}

}  // namespace
