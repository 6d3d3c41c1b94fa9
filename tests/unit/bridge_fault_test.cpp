// A vhost-user guest that truncates the file behind its memory while venicd
// copies frames in or out must not kill venicd: the worker's bridge call
// patches the faulting pages, completes, and the bridge is told.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <thread>

#include "unique_fd.h"
#include "vf.h"
#include "worker.h"

namespace venic::fastpath {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kPages = 4;

// Reads and writes every page of "guest memory", as rte_vhost's copies do.
class TouchingBridge : public vf::Bridge {
 public:
  explicit TouchingBridge(volatile uint8_t* mem) : mem_(mem) {}
  uint32_t to_vf(uint32_t) override {
    uint32_t sum = 0;
    for (size_t i = 0; i < kPages; i++) sum += mem_[i * kPage];
    return sum + 1;  // proof the call ran to its end
  }
  uint32_t from_vf(uint32_t) override {
    for (size_t i = 0; i < kPages; i++) mem_[i * kPage + 1] = 0x5a;
    return mem_[(kPages - 1) * kPage + 1] == 0x5a ? 7 : 0;
  }
  void peer_memory_faulted() override { faults++; }
  int faults = 0;

 private:
  volatile uint8_t* mem_;
};

class BridgeFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    install_fault_guard();
    fd_.reset(::memfd_create("guest-memory", MFD_CLOEXEC));
    ASSERT_TRUE(fd_.valid());
    ASSERT_EQ(::ftruncate(fd_.get(), kPages * kPage), 0);
    void* p = ::mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    ASSERT_NE(p, MAP_FAILED);
    mem_ = static_cast<uint8_t*>(p);
    mem_[0] = 1;
  }
  void TearDown() override { ::munmap(mem_, kPages * kPage); }
  UniqueFd fd_;
  uint8_t* mem_ = nullptr;
};

TEST_F(BridgeFaultTest, IntactMemoryIsNoFault) {
  TouchingBridge b(mem_);
  EXPECT_EQ(call_bridge(b, &vf::Bridge::to_vf, 0), 2u);
  EXPECT_EQ(call_bridge(b, &vf::Bridge::from_vf, 0), 7u);
  EXPECT_EQ(b.faults, 0);
}

TEST_F(BridgeFaultTest, TruncatedMemoryIsPatchedAndReported) {
  TouchingBridge b(mem_);
  ASSERT_EQ(::ftruncate(fd_.get(), kPage), 0);  // the guest shrinks its file to one page
  EXPECT_EQ(call_bridge(b, &vf::Bridge::to_vf, 0), 2u) << "the read of the vanished pages completes (as zeros)";
  EXPECT_EQ(b.faults, 1);
  EXPECT_EQ(call_bridge(b, &vf::Bridge::from_vf, 0), 7u) << "writes complete too";
  EXPECT_EQ(b.faults, 1) << "the patched pages fault no more";
  ASSERT_EQ(::ftruncate(fd_.get(), 0), 0);  // and the first page goes too
  EXPECT_EQ(call_bridge(b, &vf::Bridge::from_vf, 0), 7u);
  EXPECT_EQ(b.faults, 2);
}

// rte_vhost's own threads read a guest's rings while handling its messages.
TEST_F(BridgeFaultTest, AVhostThreadSurvivesTooOnceGuarded) {
  ASSERT_EQ(::ftruncate(fd_.get(), 0), 0);
  uint32_t seen = 1;
  std::thread t([&] {
    patch_peer_faults_on_this_thread();
    volatile uint8_t* m = mem_;
    seen = m[kPage];
    m[2 * kPage] = 3;
  });
  t.join();
  EXPECT_EQ(seen, 0u);
}

// Outside a bridge call a SIGBUS is still fatal: nothing is patched silently.
TEST_F(BridgeFaultTest, AFaultOutsideABridgeCallStillKills) {
  ASSERT_EQ(::ftruncate(fd_.get(), 0), 0);
  volatile uint8_t* m = mem_;
  EXPECT_EXIT((void)m[kPage], ::testing::KilledBySignal(SIGBUS), "");
}

}  // namespace
}  // namespace venic::fastpath
