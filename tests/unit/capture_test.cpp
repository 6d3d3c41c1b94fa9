// Per-VF capture: frames offered to a CaptureTap (10 of 100 with a drop
// verdict) come out of PcapngWriter as a pcapng file that tshark reads back
// with 100 packets and 10 drop comments.  Needs EAL (rte_pcapng's mbufs).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "capture_tap.h"
#include "pcapng_writer.h"
#include "venic_abi.h"

using namespace venic::observe;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

std::vector<uint8_t> frame(uint8_t i) {
  std::vector<uint8_t> f(60 + i, 0);
  const uint8_t hdr[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5};  // local experimental ethertype
  std::memcpy(f.data(), hdr, sizeof(hdr));
  f[14] = i;
  return f;
}

auto no_workers = [](std::function<void()> f) { f(); };

}  // namespace

TEST(CaptureTap, InactiveUntilStartedAndFiltersDirection) {
  CaptureTap tap;
  EXPECT_FALSE(tap.active());
  auto f = frame(0);
  tap.offer(CaptureDirection::kIn, f.data(), f.size(), -1, 0);  // ignored: not running
  ASSERT_TRUE(tap.start(static_cast<uint8_t>(CaptureDirection::kOut)));
  EXPECT_FALSE(tap.start(3));
  EXPECT_TRUE(tap.active());
  tap.offer(CaptureDirection::kIn, f.data(), f.size(), -1, 0);
  tap.offer(CaptureDirection::kOut, f.data(), f.size(), VENIC_DROP_SPOOF_IP, 0);
  unsigned n = tap.drain([&](const CaptureTap::Frame& x) {
    EXPECT_EQ(x.dir, CaptureDirection::kOut);
    EXPECT_EQ(x.verdict, VENIC_DROP_SPOOF_IP);
    EXPECT_EQ(x.len, f.size());
  });
  EXPECT_EQ(n, 1u);
  tap.stop(no_workers);
  EXPECT_FALSE(tap.active());
}

TEST(CaptureTap, AFullRingLosesCopiesNotFrames) {
  CaptureTap tap;
  tap.start(3);
  std::vector<uint8_t> big(9000, 7);
  for (unsigned i = 0; i < CaptureTap::kRingSlots + 10; i++)
    tap.offer(CaptureDirection::kIn, big.data(), big.size(), -1, 0);
  EXPECT_EQ(tap.lost(), 10u);
  unsigned n = tap.drain([&](const CaptureTap::Frame& x) {
    EXPECT_EQ(x.len, CaptureTap::kSnapLen);
    EXPECT_EQ(x.orig_len, 9000u);
  });
  EXPECT_EQ(n, CaptureTap::kRingSlots);
  tap.stop(no_workers);
}

TEST(CaptureTap, ProducersOnSeveralThreads) {
  CaptureTap tap;
  tap.start(3);
  auto f = frame(1);
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; t++)
    producers.emplace_back([&] {
      for (int i = 0; i < 200; i++) tap.offer(CaptureDirection::kIn, f.data(), f.size(), -1, 0);
    });
  for (auto& t : producers) t.join();
  unsigned n = tap.drain([&](const CaptureTap::Frame& x) { EXPECT_EQ(x.data[14], 1); });
  EXPECT_EQ(n + tap.lost(), 800u);
  tap.stop(no_workers);
}

TEST(PcapngWriter, HundredFramesTenDropCommentsReadByTshark) {
  CaptureTap tap;
  tap.start(3);
  for (uint8_t i = 0; i < 100; i++) {
    auto f = frame(i);
    const int verdict = i % 10 == 3 ? VENIC_DROP_SPOOF_IP : -1;
    tap.offer(i % 2 ? CaptureDirection::kOut : CaptureDirection::kIn, f.data(), f.size(), verdict, rte_rdtsc());
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / ("capture_test." + std::to_string(::getpid()) + ".pcapng")).string();
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    PcapngWriter w(fd, "vf3");
    EXPECT_EQ(tap.drain([&](const CaptureTap::Frame& f) { EXPECT_TRUE(w.write(f)); }), 100u);
    EXPECT_EQ(w.written(), 100u);
  }
  tap.stop(no_workers);
  const std::string comments = run("tshark -r " + path + " -T fields -e frame.comment 2>/dev/null");
  std::filesystem::remove(path);
  size_t lines = 0, drops = 0, delivered = 0;
  for (size_t at = 0, nl; (nl = comments.find('\n', at)) != std::string::npos; at = nl + 1) {
    const std::string l = comments.substr(at, nl - at);
    lines++;
    drops += l == "drop: spoof_ip";
    delivered += l == "delivered";
  }
  EXPECT_EQ(lines, 100u) << comments;
  EXPECT_EQ(drops, 10u) << comments;
  EXPECT_EQ(delivered, 90u) << comments;
  EXPECT_EQ(verdict_text(VENIC_DROP_SG_INGRESS), "drop: sg_ingress");
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();  // test discovery: no EAL
  const std::string prefix = "capture_test" + std::to_string(::getpid());
  const char* eal[] = {"capture_test",
                       "--no-huge",
                       "-m",
                       "64",
                       "--no-pci",
                       "--no-shconf",
                       "--file-prefix",
                       prefix.c_str(),
                       "--no-telemetry",
                       "--log-level=lib.eal:error",
                       "-l",
                       "0"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
    std::fprintf(stderr, "capture_test: EAL init failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all(runtime_dir, ec);
  return rc;
}
