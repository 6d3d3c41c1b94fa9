// The underlay's wire format: what encapsulate writes, decapsulate reads
// back; what a peer must drop is dropped; Geneve and VXLAN headers as the
// RFCs lay them out (the kernel's own devices are the peer in
// tests/integration/underlay_kernel_interop.sh).
#include "tunnel_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace {

using namespace venic::underlay;

std::vector<uint8_t> inner_udp(uint16_t sport) {
  std::vector<uint8_t> f(14 + 20 + 8 + 10, 0);
  f[12] = 0x08;
  f[14] = 0x45;
  f[14 + 9] = 17;
  const uint8_t src[4] = {10, 5, 1, 10}, dst[4] = {10, 5, 2, 20};
  std::memcpy(&f[26], src, 4);
  std::memcpy(&f[30], dst, 4);
  f[34] = static_cast<uint8_t>(sport >> 8);
  f[35] = static_cast<uint8_t>(sport);
  f[37] = 53;
  return f;
}

Underlay hop() {
  Underlay u;
  u.src_mac = {2, 0, 0, 0, 0, 1};
  u.dst_mac = {2, 0, 0, 0, 0, 2};
  u.src_ip = 0xc0000201;  // 192.0.2.1
  u.dst_ip = 0xc0000202;
  return u;
}

TEST(TunnelCodec, GeneveRoundTrip) {
  const auto inner = inner_udp(1000);
  std::vector<uint8_t> out(2048);
  const size_t n = encapsulate(Encap::kGeneve, hop(), 0x123456, inner, out);
  ASSERT_EQ(n, inner.size() + kOverhead);
  // RFC 8926: version 0, no options, protocol 0x6558, the VNI in bytes 4-6.
  const uint8_t* g = &out[42];
  EXPECT_EQ(g[0], 0);
  EXPECT_EQ(g[1], 0);
  EXPECT_EQ(g[2], 0x65);
  EXPECT_EQ(g[3], 0x58);
  EXPECT_EQ(g[4], 0x12);
  EXPECT_EQ(g[5], 0x34);
  EXPECT_EQ(g[6], 0x56);
  EXPECT_EQ(out[36] << 8 | out[37], kGenevePort);
  EXPECT_EQ(out[20] & 0x40, 0x40) << "DF: the underlay must not fragment";
  const char* why = nullptr;
  auto d = decapsulate(Encap::kGeneve, std::span<const uint8_t>(out.data(), n), &why);
  ASSERT_TRUE(d) << why;
  EXPECT_EQ(d->vni, 0x123456u);
  EXPECT_EQ(d->outer_src, hop().src_ip);
  EXPECT_EQ(d->outer_dst, hop().dst_ip);
  ASSERT_EQ(d->inner.size(), inner.size());
  EXPECT_TRUE(std::equal(inner.begin(), inner.end(), d->inner.begin()));
}

TEST(TunnelCodec, VxlanRoundTrip) {
  const auto inner = inner_udp(1000);
  std::vector<uint8_t> out(2048);
  const size_t n = encapsulate(Encap::kVxlan, hop(), 77, inner, out);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(out[42], 0x08);  // I flag
  EXPECT_EQ(out[46] << 16 | out[47] << 8 | out[48], 77);
  EXPECT_EQ(out[36] << 8 | out[37], kVxlanPort);
  auto d = decapsulate(Encap::kVxlan, std::span<const uint8_t>(out.data(), n));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->vni, 77u);
  // A Geneve endpoint does not take it (another port).
  EXPECT_FALSE(decapsulate(Encap::kGeneve, std::span<const uint8_t>(out.data(), n)));
}

TEST(TunnelCodec, AnUnfilledUdpChecksumPassesOnlyWhenTrusted) {
  // What a veth hands a packet socket before the kernel fills the checksum in.
  const auto inner = inner_udp(200);
  std::vector<uint8_t> out(2048);
  const size_t n = encapsulate(Encap::kVxlan, hop(), 5, inner, out);
  out[40] = 0x12, out[41] = 0x34;  // UDP checksum: set, and wrong
  const std::span<const uint8_t> f(out.data(), n);
  const char* why = nullptr;
  EXPECT_FALSE(decapsulate(Encap::kVxlan, f, &why));
  EXPECT_STREQ(why, "bad UDP checksum");
  auto d = decapsulate(Encap::kVxlan, f, nullptr, UdpChecksum::kTrust);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->vni, 5u);
}

TEST(TunnelCodec, DropsWhatAPeerMustDrop) {
  const auto inner = inner_udp(1000);
  std::vector<uint8_t> good(2048);
  const size_t n = encapsulate(Encap::kGeneve, hop(), 5, inner, good);
  good.resize(n);
  auto refused = [](std::vector<uint8_t> f) {
    const char* why = nullptr;
    return !decapsulate(Encap::kGeneve, f, &why) && why != nullptr;
  };
  auto with = [&](size_t at, uint8_t v) {
    auto f = good;
    f[at] = v;
    return f;
  };
  EXPECT_TRUE(refused(with(42, 0x40))) << "Geneve version 1";
  EXPECT_TRUE(refused(with(43, 0x40))) << "critical options";
  EXPECT_TRUE(refused(with(43, 0x80))) << "OAM";
  EXPECT_TRUE(refused(with(44, 0x08))) << "inner protocol not Ethernet";
  EXPECT_TRUE(refused(with(42, 0x3f))) << "options past the end";
  EXPECT_TRUE(refused(with(24, 0x99))) << "bad IPv4 checksum";
  EXPECT_TRUE(refused(with(12, 0x86))) << "not IPv4";
  EXPECT_TRUE(refused(std::vector<uint8_t>(good.begin(), good.begin() + 60))) << "truncated";
  auto frag = good;
  frag[20] = 0x20;  // MF
  frag[24] = frag[25] = 0;
  uint32_t s = 0;
  for (int i = 14; i < 34; i += 2) s += frag[i] << 8 | frag[i + 1];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  frag[24] = static_cast<uint8_t>(~s >> 8);
  frag[25] = static_cast<uint8_t>(~s);
  EXPECT_TRUE(refused(frag)) << "a fragment";
}

TEST(TunnelCodec, NonCriticalOptionsAreSkipped) {
  const auto inner = inner_udp(7);
  std::vector<uint8_t> payload(8 + 8 + inner.size());
  write_tunnel_header(Encap::kGeneve, 9, payload.data());
  payload[0] = 2;  // two 4-byte words of options, not critical
  std::copy(inner.begin(), inner.end(), payload.begin() + 16);
  auto t = parse_tunnel_payload(Encap::kGeneve, payload);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->vni, 9u);
  EXPECT_EQ(t->inner.size(), inner.size());
  EXPECT_EQ(t->inner[12], 0x08);
}

TEST(TunnelCodec, EntropyPortFollowsTheFlowInTheDynamicRange) {
  const uint16_t a = entropy_port(inner_udp(1000)), b = entropy_port(inner_udp(1000));
  EXPECT_EQ(a, b);
  EXPECT_GE(a, 49152);
  int differ = 0;
  for (uint16_t p = 1; p < 64; p++) differ += entropy_port(inner_udp(p)) != a;
  EXPECT_GT(differ, 50) << "flows must spread";
}

TEST(TunnelCodec, OutTooSmallWritesNothing) {
  const auto inner = inner_udp(1);
  std::vector<uint8_t> out(inner.size() + kOverhead - 1);
  EXPECT_EQ(encapsulate(Encap::kGeneve, hop(), 1, inner, out), 0u);
}

}  // namespace
