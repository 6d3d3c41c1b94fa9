// The deferred-free queue behind Dataplane::publish: a retired object is freed
// only after every registered worker has passed a quiescent state, the check
// never waits, and the queue stays bounded.  Drives a real rte_rcu_qsbr from
// this thread (any thread may report a reader's quiescent state; no EAL).
#include "reclaim_queue.h"

#include <gtest/gtest.h>
#include <rte_rcu_qsbr.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace {

using venic::fastpath::ReclaimQueue;

struct Qsbr {
  explicit Qsbr(unsigned readers) {
    size_t sz = rte_rcu_qsbr_get_memsize(readers);
    mem = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(64, (sz + 63) / 64 * 64));
    EXPECT_EQ(rte_rcu_qsbr_init(mem, readers), 0);
    for (unsigned i = 0; i < readers; i++) {
      rte_rcu_qsbr_thread_register(mem, i);
      rte_rcu_qsbr_thread_online(mem, i);
    }
  }
  ~Qsbr() { std::free(mem); }
  rte_rcu_qsbr* mem;
};

TEST(ReclaimQueue, FreesOnlyAfterEveryWorkerPassedAQuiescentState) {
  Qsbr q(2);
  ReclaimQueue rq(q.mem);
  int freed = 0;
  rq.defer([&] { freed++; });
  EXPECT_EQ(freed, 0);  // neither worker has moved on
  EXPECT_EQ(rq.reclaim(), 0u);
  rte_rcu_qsbr_quiescent(q.mem, 0);
  EXPECT_EQ(rq.reclaim(), 0u);  // worker 1 may still hold it
  EXPECT_EQ(freed, 0);
  rte_rcu_qsbr_quiescent(q.mem, 1);
  EXPECT_EQ(rq.reclaim(), 1u);
  EXPECT_EQ(freed, 1);
  EXPECT_EQ(rq.pending(), 0u);
}

TEST(ReclaimQueue, AQuiescentStateBeforeTheRetirementDoesNotCount) {
  Qsbr q(1);
  ReclaimQueue rq(q.mem);
  std::vector<int> order;
  rte_rcu_qsbr_quiescent(q.mem, 0);
  rq.defer([&] { order.push_back(1); });
  EXPECT_TRUE(order.empty());
  rte_rcu_qsbr_quiescent(q.mem, 0);
  rq.defer([&] { order.push_back(2); });  // frees the first on the way
  EXPECT_EQ(order, std::vector<int>{1});
  rte_rcu_qsbr_quiescent(q.mem, 0);
  rq.reclaim();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(ReclaimQueue, AnOfflineWorkerHoldsNothing) {
  Qsbr q(2);
  ReclaimQueue rq(q.mem);
  auto obj = std::make_shared<int>(7);
  std::weak_ptr<int> watch = obj;
  rq.defer([o = std::move(obj)] {});
  EXPECT_FALSE(watch.expired());
  rte_rcu_qsbr_thread_offline(q.mem, 1);
  rte_rcu_qsbr_quiescent(q.mem, 0);
  rq.reclaim();
  EXPECT_TRUE(watch.expired());
}

TEST(ReclaimQueue, StaysBoundedWithABoundedWait) {
  Qsbr q(1);
  ReclaimQueue rq(q.mem, 4, std::chrono::milliseconds(20));
  int freed = 0;
  for (int i = 0; i < 4; i++) rq.defer([&] { freed++; });
  EXPECT_EQ(rq.waits(), 0u);
  // A starved worker: the fifth retirement waits, but only up to max_wait,
  // and frees nothing early.
  const auto t0 = std::chrono::steady_clock::now();
  rq.defer([&] { freed++; });
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(rq.waits(), 1u);
  EXPECT_GE(waited, std::chrono::milliseconds(20));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_EQ(freed, 0);
  EXPECT_EQ(rq.pending(), 5u);
  // Once the worker moves on, everything goes.
  rte_rcu_qsbr_quiescent(q.mem, 0);
  rq.defer([&] { freed++; });
  EXPECT_EQ(freed, 5);
  rte_rcu_qsbr_quiescent(q.mem, 0);
  rq.reclaim();
  EXPECT_EQ(freed, 6);
}

TEST(ReclaimQueue, TheWaitEndsAsSoonAsTheWorkerMovesOn) {
  Qsbr q(1);
  ReclaimQueue rq(q.mem, 1, std::chrono::seconds(30));
  int freed = 0;
  rq.defer([&] { freed++; });
  std::thread worker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    rte_rcu_qsbr_quiescent(q.mem, 0);
  });
  const auto t0 = std::chrono::steady_clock::now();
  rq.defer([&] { freed++; });
  worker.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_GE(freed, 1);
}

TEST(ReclaimQueue, DestructionRunsWhatIsLeft) {
  Qsbr q(1);
  int freed = 0;
  {
    ReclaimQueue rq(q.mem);
    rq.defer([&] { freed++; });
    rq.defer([&] { freed++; });
    EXPECT_EQ(freed, 0);
  }
  EXPECT_EQ(freed, 2);
}

}  // namespace
