// venic-traffic's verifiable frames: what make_frame builds, check_frame must
// accept, and any single corrupted byte it covers must be caught.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "frame_pattern.h"

namespace venic::tools {
namespace {

const vf::MacAddr kDst{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
const vf::MacAddr kSrc{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

class FramePatternSizes : public ::testing::TestWithParam<uint32_t> {};

TEST_P(FramePatternSizes, MakeFrameRoundTripsThroughCheckFrame) {
  const uint32_t len = GetParam();
  for (uint32_t seq : {0u, 1u, 12345u, 0xfffffffeu}) {
    std::vector<uint8_t> f = make_frame(kDst, kSrc, seq, len);
    ASSERT_EQ(f.size(), len);
    EXPECT_EQ(std::memcmp(f.data(), kDst.data(), 6), 0);
    EXPECT_EQ(std::memcmp(f.data() + 6, kSrc.data(), 6), 0);
    EXPECT_EQ(f[12], 0x88);
    EXPECT_EQ(f[13], 0xb5);
    EXPECT_TRUE(check_frame(f.data(), len)) << "seq " << seq;
  }
}

// Every byte from the ethertype on is covered (the MACs are deliberately not
// checked: a switch may rewrite them).  Flipping any one of them must make
// check_frame fail, whatever field it lands in: ethertype, magic, sequence
// number, length or payload.  (The sequence number is only checked through
// the payload it generates, so the payload must depend on all 32 bits of it.)
TEST_P(FramePatternSizes, AnySingleFlippedByteFailsCheckFrame) {
  const uint32_t len = GetParam();
  const uint32_t seq = 7;
  const std::vector<uint8_t> good = make_frame(kDst, kSrc, seq, len);
  std::vector<uint8_t> f = good;
  std::vector<std::string> missed;  // "byte^mask" of every corruption that passed
  for (uint32_t i = 12; i < len; i++) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      f[i] ^= mask;
      if (check_frame(f.data(), len)) missed.push_back(std::to_string(i) + "^" + std::to_string(mask));
      f[i] = good[i];
    }
  }
  EXPECT_TRUE(missed.empty()) << "corruptions check_frame accepted in a " << len
                              << "-byte frame (byte^mask): " << ::testing::PrintToString(missed);
  EXPECT_TRUE(check_frame(f.data(), len));
}

INSTANTIATE_TEST_SUITE_P(Sizes, FramePatternSizes, ::testing::Values(60u, 1500u, 9019u));

TEST(FramePattern, FramesWithDifferentSequenceNumbersDiffer) {
  auto a = make_frame(kDst, kSrc, 1, 60);
  auto b = make_frame(kDst, kSrc, 2, 60);
  EXPECT_NE(a, b);
}

TEST(FramePattern, LengthMismatchFails) {
  // A frame received shorter or longer than its header says is not intact.
  std::vector<uint8_t> f = make_frame(kDst, kSrc, 3, 100);
  EXPECT_FALSE(check_frame(f.data(), 99));
  f.push_back(pattern_byte(3, 100));
  EXPECT_FALSE(check_frame(f.data(), 101));
}

TEST(FramePattern, TooShortForTheHeaderFails) {
  std::vector<uint8_t> f = make_frame(kDst, kSrc, 3, 60);
  EXPECT_FALSE(check_frame(f.data(), 25));
  EXPECT_FALSE(check_frame(f.data(), 0));
}

TEST(FramePattern, ForeignEthertypeFails) {
  std::vector<uint8_t> f = make_frame(kDst, kSrc, 3, 60);
  f[12] = 0x08;
  f[13] = 0x00;  // IPv4
  EXPECT_FALSE(check_frame(f.data(), 60));
}

}  // namespace
}  // namespace venic::tools

// The UDP variant carries the same verifiable payload after its headers, and
// its addresses are where an IPv4 parser looks for them.
TEST(FramePattern, UdpFramesRoundTripAndCarryTheirAddresses) {
  venic::vf::MacAddr a{2, 0, 0, 0, 0, 1}, b{2, 0, 0, 0, 0, 2};
  auto f = venic::tools::make_udp_frame(b, a, 7, 128, 10001, 0x0a000114, 0x0a000115);
  ASSERT_EQ(f.size(), 128u);
  EXPECT_TRUE(venic::tools::check_frame(f.data(), 128));
  EXPECT_EQ(f[23], 17);  // UDP
  EXPECT_EQ(f[26], 10);
  EXPECT_EQ(f[29], 0x14);  // source 10.0.1.20
  EXPECT_EQ(f[33], 0x15);  // destination 10.0.1.21
  EXPECT_EQ(f[34] << 8 | f[35], 10001);
  f[100] ^= 1;
  EXPECT_FALSE(venic::tools::check_frame(f.data(), 128));
}

// UDP checksums are filled (receivers verify them): the datagram and its
// pseudo-header sum to 0xffff, for IPv4 and IPv6, odd lengths included.
TEST(FramePattern, UdpChecksumsAreValid) {
  venic::vf::MacAddr a{2, 0, 0, 0, 0, 1}, b{2, 0, 0, 0, 0, 2};
  auto folded = [](uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return s;
  };
  for (uint32_t len : {60u, 129u, 1500u, 9019u}) {
    auto f = venic::tools::make_udp_frame(b, a, 3, len, 4000);
    uint32_t s = venic::tools::sum16(&f[26], 8) + 17 + (len - 34);
    EXPECT_EQ(folded(venic::tools::sum16(&f[34], len - 34, s)), 0xffffu) << len;
    EXPECT_NE(f[40] << 8 | f[41], 0) << "IPv4 UDP checksum left out";
    std::array<uint8_t, 16> x{0xfd}, y{0xfd};
    y[15] = 2;
    auto g = venic::tools::make_udp6_frame(b, a, 3, len < 74 ? 74 : len, 4000, x, y);
    const uint32_t l6 = static_cast<uint32_t>(g.size());
    s = venic::tools::sum16(&g[22], 32) + 17 + (l6 - 54);
    EXPECT_EQ(folded(venic::tools::sum16(&g[54], l6 - 54, s)), 0xffffu) << len;
  }
}

// TCP frames (security-group tests): ports and flags where a parser looks,
// a valid checksum, and the same verifiable payload after a 20-byte header.
TEST(FramePattern, TcpFramesRoundTripWithValidChecksums) {
  venic::vf::MacAddr a{2, 0, 0, 0, 0, 1}, b{2, 0, 0, 0, 0, 2};
  auto folded = [](uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return s;
  };
  for (uint32_t len : {66u, 129u, 1500u}) {
    auto f = venic::tools::make_l4_frame(b, a, 9, len, 6, 40000, 5001, 0x0a00010a, 0x0a00010b, 0x02);
    ASSERT_EQ(f.size(), len);
    EXPECT_TRUE(venic::tools::check_frame(f.data(), len)) << len;
    EXPECT_EQ(f[23], 6);
    EXPECT_EQ(f[34] << 8 | f[35], 40000);
    EXPECT_EQ(f[36] << 8 | f[37], 5001);
    EXPECT_EQ(f[47], 0x02) << "SYN";
    EXPECT_EQ(f[46] >> 4, 5) << "a 20-byte TCP header";
    uint32_t s = venic::tools::sum16(&f[26], 8) + 6 + (len - 34);
    EXPECT_EQ(folded(venic::tools::sum16(&f[34], len - 34, s)), 0xffffu) << len;
    f[len - 1] ^= 0x40;
    EXPECT_FALSE(venic::tools::check_frame(f.data(), len));
    std::array<uint8_t, 16> x{0xfd}, y{0xfd};
    y[15] = 2;
    auto g = venic::tools::make_l4_6_frame(b, a, 9, len < 86 ? 86 : len, 6, 40000, 5001, x, y);
    EXPECT_TRUE(venic::tools::check_frame(g.data(), static_cast<uint32_t>(g.size())));
  }
}
