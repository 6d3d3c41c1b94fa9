// The etcd client against a real etcd (Debian's etcd-server), started and
// stopped by the test on loopback ports of its own: reads and writes,
// prefixes, transactions that let exactly one of two racing hosts win a key,
// a watch that sees every change in order, and a clean error when etcd is
// gone.
#include "etcd_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "etcd_server.h"

namespace {

using namespace venic::cluster;

class Etcd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!venic::testing::EtcdServer::installed()) GTEST_SKIP() << "etcd-server is not installed (ci/install-deps)";
    ASSERT_TRUE(etcd_.start()) << "etcd did not come up";
    url_ = etcd_.url();
  }
  void stop() { etcd_.stop(); }
  venic::testing::EtcdServer etcd_;
  std::string url_;
};

TEST_F(Etcd, PutGetListBytes) {
  EtcdClient c({url_});
  const std::string binary("a\0b\xff", 4);
  const int64_t rev = c.put("/venic/vpcs/vpc-1", binary);
  EXPECT_GT(rev, 0);
  c.put("/venic/vpcs/vpc-2", "{}");
  c.put("/venic/subnets/subnet-1", "{}");
  auto kv = c.get("/venic/vpcs/vpc-1");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->value, binary);
  EXPECT_EQ(kv->mod_revision, rev);
  EXPECT_FALSE(c.get("/venic/vpcs/vpc-3"));
  int64_t at = 0;
  auto vpcs = c.list("/venic/vpcs/", &at);
  ASSERT_EQ(vpcs.size(), 2u);
  EXPECT_EQ(vpcs[0].key, "/venic/vpcs/vpc-1");
  EXPECT_EQ(vpcs[1].key, "/venic/vpcs/vpc-2");
  EXPECT_GE(at, rev);
}

TEST_F(Etcd, CompareAndSwapOnRevisions) {
  EtcdClient c({url_});
  EXPECT_TRUE(c.create("/venic/ip/10.0.1.10", "eni-a"));
  EXPECT_FALSE(c.create("/venic/ip/10.0.1.10", "eni-b")) << "an address is given out once";
  auto kv = c.get("/venic/ip/10.0.1.10");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->value, "eni-a");
  // An update on a stale revision loses; on the current one wins; both keys or none.
  EXPECT_FALSE(c.commit({{kv->key, kv->mod_revision + 7}}, {{Op::Kind::kPut, kv->key, "x"}}));
  EXPECT_TRUE(c.commit({{kv->key, kv->mod_revision}, {"/venic/ip/10.0.1.11", 0}},
                       {{Op::Kind::kDelete, kv->key, ""}, {Op::Kind::kPut, "/venic/ip/10.0.1.11", "eni-a"}}));
  EXPECT_FALSE(c.get("/venic/ip/10.0.1.10"));
  EXPECT_TRUE(c.get("/venic/ip/10.0.1.11"));
}

// Two hosts claim the same 50 addresses at once: each goes to exactly one.
TEST_F(Etcd, RacingHostsNeverShareAnAddress) {
  std::set<std::string> won[2];
  std::thread hosts[2];
  for (int h = 0; h < 2; h++)
    hosts[h] = std::thread([&, h] {
      EtcdClient c({url_});
      for (int i = 0; i < 50; i++) {
        const std::string key = "/venic/ip/10.0.2." + std::to_string(i);
        if (c.create(key, "host" + std::to_string(h))) won[h].insert(key);
      }
    });
  for (auto& t : hosts) t.join();
  EXPECT_EQ(won[0].size() + won[1].size(), 50u);
  for (const auto& k : won[0]) EXPECT_FALSE(won[1].count(k)) << k;
  EtcdClient c({url_});
  for (const auto& kv : c.list("/venic/ip/10.0.2."))
    EXPECT_TRUE(won[kv.value == "host0" ? 0 : 1].count(kv.key)) << kv.key << " says " << kv.value;
}

TEST_F(Etcd, WatchSeesEveryChangeInOrder) {
  EtcdClient writer({url_});
  int64_t rev = 0;
  writer.list("/venic/enis/", &rev);
  std::vector<WatchEvent> seen;
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    EtcdClient c({url_});
    c.watch(
        "/venic/enis/", rev + 1,
        [&](const WatchEvent& e) {
          seen.push_back(e);
          return seen.size() < 21;
        },
        [&] { return stop.load(); });
  });
  for (int i = 0; i < 20; i++) writer.put("/venic/enis/eni-" + std::to_string(i), "host-a");
  writer.put("/venic/other", "not watched");
  // A pause longer than the stream's idle timeout: the watch resumes where it was.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  writer.commit({}, {{Op::Kind::kDelete, "/venic/enis/eni-3", ""}});
  watcher.join();
  stop = true;
  ASSERT_EQ(seen.size(), 21u);
  for (int i = 0; i < 20; i++) {
    EXPECT_EQ(seen[i].kind, WatchEvent::Kind::kPut);
    EXPECT_EQ(seen[i].kv.key, "/venic/enis/eni-" + std::to_string(i));
    EXPECT_EQ(seen[i].kv.value, "host-a");
    if (i) {
      EXPECT_GT(seen[i].kv.mod_revision, seen[i - 1].kv.mod_revision);
    }
  }
  EXPECT_EQ(seen[20].kind, WatchEvent::Kind::kDelete);
  EXPECT_EQ(seen[20].kv.key, "/venic/enis/eni-3");
}

TEST_F(Etcd, UnreachableIsACleanErrorWithinTheTimeout) {
  EtcdClient c({url_}, std::chrono::milliseconds(300));
  c.put("/k", "v");
  stop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(c.put("/k", "w"), EtcdError);
  EXPECT_THROW(c.create("/k2", "w"), EtcdError);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(EtcdPrefix, EndIsThePrefixPlusOne) {
  EXPECT_EQ(prefix_end("/venic/"), "/venic0");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
}

}  // namespace
