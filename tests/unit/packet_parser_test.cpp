// The fast path's L2-L4 parser, on hand-built frames.
#include "packet_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "venic_abi.h"

namespace venic::fastpath {
namespace {

// Builds frames byte by byte, big-endian as on the wire.
struct Frame {
  std::vector<uint8_t> b;

  Frame& bytes(std::initializer_list<uint8_t> v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  Frame& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Frame& u16(uint16_t v) { return u8(uint8_t(v >> 8)).u8(uint8_t(v)); }
  Frame& u32(uint32_t v) { return u16(uint16_t(v >> 16)).u16(uint16_t(v)); }
  Frame& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  Frame& eth(uint16_t type, std::initializer_list<uint8_t> dst = {0x02, 0, 0, 0, 0, 0x02}) {
    return bytes(dst).bytes({0x02, 0, 0, 0, 0, 0x01}).u16(type);
  }
  Frame& vlan(uint16_t tpid, uint16_t tci) { return u16(tpid).u16(tci); }
  // IPv4 header without options; frag is the flags+offset field.
  Frame& ipv4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t frag = 0) {
    return u8(0x45).u8(0).u16(40).u16(1).u16(frag).u8(64).u8(proto).u16(0).u32(src).u32(dst);
  }
  Frame& ipv6(uint8_t next) {
    u32(0x60000000).u16(20).u8(next).u8(64);
    for (int i = 0; i < 16; i++) u8(uint8_t(0x20 + i));  // src 2021..
    for (int i = 0; i < 16; i++) u8(uint8_t(0x40 + i));  // dst 4041..
    return *this;
  }
  Frame& ports(uint16_t src, uint16_t dst) { return u16(src).u16(dst); }
  Frame& pad_to(size_t n) {
    if (b.size() < n) zeros(n - b.size());
    return *this;
  }
};

bool parse(const std::vector<uint8_t>& f, ParsedPacket& out) {
  return parse_packet(std::span<const uint8_t>(f.data(), f.size()), uint32_t(f.size()), out);
}

constexpr uint32_t kSrcIp = 0x0a00010a;  // 10.0.1.10
constexpr uint32_t kDstIp = 0x0a000114;  // 10.0.1.20

TEST(PacketParser, Ipv4UdpAddressesAndPorts) {
  Frame f;
  f.eth(0x0800).ipv4(17, kSrcIp, kDstIp).ports(5000, 53).u16(8).u16(0).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.ethertype, 0x0800);
  EXPECT_EQ(p.vlan, 0);
  EXPECT_EQ(p.l3, L3::kIpv4);
  EXPECT_EQ(p.l4, L4::kUdp);
  EXPECT_EQ(p.l3_off, 14);
  EXPECT_EQ(p.l4_off, 34);
  EXPECT_EQ(p.src_ip4, kSrcIp);
  EXPECT_EQ(p.dst_ip4, kDstIp);
  EXPECT_EQ(p.src_port, 5000);
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_FALSE(p.fragment);
  EXPECT_FALSE(p.truncated);
  EXPECT_EQ(p.dst_mac, f.b.data());
  EXPECT_EQ(p.src_mac, f.b.data() + 6);
  EXPECT_EQ(p.ptype(), VENIC_PTYPE_L3_IPV4 | VENIC_PTYPE_L4_UDP);
}

TEST(PacketParser, Ipv4TcpPorts) {
  Frame f;
  f.eth(0x0800).ipv4(6, kSrcIp, kDstIp).ports(40000, 443).zeros(16).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l4, L4::kTcp);
  EXPECT_EQ(p.src_port, 40000);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.ptype(), VENIC_PTYPE_L3_IPV4 | VENIC_PTYPE_L4_TCP);
}

TEST(PacketParser, Ipv4OptionsMoveTheL4Header) {
  // IHL 6: one 4-byte option word before the UDP header.
  Frame f;
  f.eth(0x0800).u8(0x46).u8(0).u16(44).u16(1).u16(0).u8(64).u8(17).u16(0).u32(kSrcIp).u32(kDstIp);
  f.u32(0x01010101).ports(1234, 4321).u16(8).u16(0).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l4_off, 38);
  EXPECT_EQ(p.src_port, 1234);
  EXPECT_EQ(p.dst_port, 4321);
}

TEST(PacketParser, Ipv4IcmpHasNoPorts) {
  Frame f;
  f.eth(0x0800).ipv4(1, kSrcIp, kDstIp).u8(8).u8(0).u16(0).u32(0x12345678).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l4, L4::kIcmp);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.dst_port, 0);
  EXPECT_EQ(p.ptype(), VENIC_PTYPE_L3_IPV4 | VENIC_PTYPE_L4_ICMP);
}

TEST(PacketParser, Ipv6Tcp) {
  Frame f;
  f.eth(0x86dd).ipv6(6).ports(22, 50000).zeros(16);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l3, L3::kIpv6);
  EXPECT_EQ(p.l4, L4::kTcp);
  EXPECT_EQ(p.l4_off, 14 + 40);
  ASSERT_NE(p.src_ip6, nullptr);
  ASSERT_NE(p.dst_ip6, nullptr);
  EXPECT_EQ(p.src_ip6, f.b.data() + 14 + 8);
  EXPECT_EQ(p.dst_ip6, f.b.data() + 14 + 24);
  EXPECT_EQ(p.src_ip6[0], 0x20);
  EXPECT_EQ(p.dst_ip6[15], 0x4f);
  EXPECT_EQ(p.src_port, 22);
  EXPECT_EQ(p.dst_port, 50000);
  EXPECT_EQ(p.src_ip4, 0u);
  EXPECT_FALSE(p.truncated);
  EXPECT_EQ(p.ptype(), VENIC_PTYPE_L3_IPV6 | VENIC_PTYPE_L4_TCP);
}

TEST(PacketParser, Ipv6ExtensionHeaderCountsAsOtherL4) {
  Frame f;
  f.eth(0x86dd).ipv6(0 /* hop-by-hop */).zeros(24);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l4, L4::kOther);
  EXPECT_EQ(p.ptype(), VENIC_PTYPE_L3_IPV6);
}

TEST(PacketParser, Arp) {
  Frame f;
  f.eth(0x0806, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).u16(1).u16(0x0800).u8(6).u8(4).u16(1).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l3, L3::kArp);
  EXPECT_EQ(p.l4, L4::kNone);
  EXPECT_EQ(p.ethertype, 0x0806);
  EXPECT_EQ(p.ptype(), VENIC_PTYPE_L3_ARP);
}

TEST(PacketParser, UnknownEthertypeIsOtherWithZeroPtype) {
  Frame f;
  f.eth(0x88b5).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l3, L3::kOther);
  EXPECT_EQ(p.ethertype, 0x88b5);
  EXPECT_EQ(p.ptype(), 0);
}

TEST(PacketParser, SingleVlanTag) {
  Frame f;
  // PCP 5 in the top bits must not leak into the VLAN id.
  f.eth(0x8100).u16(0xa000 | 100).u16(0x0800).ipv4(17, kSrcIp, kDstIp).ports(1, 2).zeros(4).pad_to(64);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.vlan, 100);
  EXPECT_EQ(p.ethertype, 0x0800);
  EXPECT_EQ(p.l3_off, 18);
  EXPECT_EQ(p.l4_off, 38);
  EXPECT_EQ(p.l4, L4::kUdp);
  EXPECT_EQ(p.src_port, 1);
  EXPECT_EQ(p.dst_port, 2);
  EXPECT_EQ(p.src_ip4, kSrcIp);
}

TEST(PacketParser, DoubleVlanTagReportsTheOuterId) {
  Frame f;
  f.eth(0x88a8).u16(300).vlan(0x8100, 42).u16(0x0800).ipv4(6, kSrcIp, kDstIp).ports(80, 8080).zeros(16);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.vlan, 300);
  EXPECT_EQ(p.ethertype, 0x0800);
  EXPECT_EQ(p.l3_off, 22);
  EXPECT_EQ(p.l3, L3::kIpv4);
  EXPECT_EQ(p.l4, L4::kTcp);
  EXPECT_EQ(p.src_port, 80);
  EXPECT_EQ(p.dst_port, 8080);
}

TEST(PacketParser, VlanTagCutShortIsTruncated) {
  Frame f;
  f.eth(0x8100).u16(5);  // 16 bytes: the inner ethertype is missing
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_TRUE(p.truncated);
}

TEST(PacketParser, RuntIsRejected) {
  std::vector<uint8_t> f(13, 0);
  ParsedPacket p;
  EXPECT_FALSE(parse(f, p));
  f.push_back(0);
  EXPECT_TRUE(parse(f, p));  // 14 bytes is a whole Ethernet header
  // A frame claimed shorter than a header is refused even if hdr is larger.
  EXPECT_FALSE(parse_packet(std::span<const uint8_t>(f.data(), f.size()), 10, p));
  EXPECT_FALSE(parse_packet(std::span<const uint8_t>(), 0, p));
}

TEST(PacketParser, TruncatedIpv4HeaderIsFlagged) {
  Frame f;
  f.eth(0x0800).ipv4(17, kSrcIp, kDstIp);
  f.b.resize(14 + 12);  // cut inside the addresses
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l3, L3::kIpv4);
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.src_ip4, 0u);
  EXPECT_EQ(p.l4, L4::kNone);
}

TEST(PacketParser, Ipv4IhlBeyondTheDataIsTruncated) {
  Frame f;
  f.eth(0x0800).ipv4(17, kSrcIp, kDstIp);
  f.b[14] = 0x4f;  // IHL 15 = 60 bytes, only 20 present
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.l4, L4::kNone);
}

TEST(PacketParser, Ipv4IhlBelowMinimumIsTruncated) {
  Frame f;
  f.eth(0x0800).ipv4(17, kSrcIp, kDstIp).ports(1, 2).pad_to(60);
  f.b[14] = 0x44;  // IHL 4 = 16 bytes, less than an IPv4 header
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_TRUE(p.truncated);
}

TEST(PacketParser, MissingL4PortsAreTruncated) {
  Frame f;
  f.eth(0x0800).ipv4(17, kSrcIp, kDstIp).u16(5000);  // half a UDP port pair
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l4, L4::kUdp);
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.src_port, 0);
}

TEST(PacketParser, NonFirstIpv4FragmentHasNoPorts) {
  Frame f;
  // Offset 185 (x 8 bytes): bytes that look like ports are payload.
  f.eth(0x0800).ipv4(17, kSrcIp, kDstIp, 185).ports(1111, 2222).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_TRUE(p.fragment);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.dst_port, 0);
  EXPECT_NE(p.l4, L4::kUdp);
  EXPECT_EQ(p.src_ip4, kSrcIp);  // addresses are still there
  EXPECT_EQ(p.ptype(), VENIC_PTYPE_L3_IPV4);
}

TEST(PacketParser, FirstFragmentStillHasPorts) {
  Frame f;
  f.eth(0x0800).ipv4(17, kSrcIp, kDstIp, 0x2000 /* MF, offset 0 */).ports(1111, 2222).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.src_port, 1111);
  EXPECT_EQ(p.dst_port, 2222);
}

TEST(PacketParser, BroadcastAndMulticastDestinations) {
  ParsedPacket p;
  Frame bcast;
  bcast.eth(0x0806, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).pad_to(60);
  ASSERT_TRUE(parse(bcast.b, p));
  EXPECT_TRUE(p.is_broadcast());
  EXPECT_TRUE(p.is_multicast());  // broadcast has the group bit too

  Frame mcast;
  mcast.eth(0x0800, {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}).pad_to(60);
  ASSERT_TRUE(parse(mcast.b, p));
  EXPECT_TRUE(p.is_multicast());
  EXPECT_FALSE(p.is_broadcast());

  Frame ucast;
  ucast.eth(0x0800, {0x02, 0xff, 0xff, 0xff, 0xff, 0xff}).pad_to(60);
  ASSERT_TRUE(parse(ucast.b, p));
  EXPECT_FALSE(p.is_multicast());
  EXPECT_FALSE(p.is_broadcast());
}

TEST(PacketParser, ReparsingResetsEveryField) {
  // out is reused across packets in a burst: nothing may stick.
  Frame tcp;
  tcp.eth(0x8100).u16(7).u16(0x0800).ipv4(6, kSrcIp, kDstIp).ports(1, 2).zeros(16);
  Frame arp;
  arp.eth(0x0806).pad_to(60);
  ParsedPacket p;
  ASSERT_TRUE(parse(tcp.b, p));
  ASSERT_TRUE(parse(arp.b, p));
  EXPECT_EQ(p.vlan, 0);
  EXPECT_EQ(p.l4, L4::kNone);
  EXPECT_EQ(p.src_ip4, 0u);
  EXPECT_EQ(p.src_port, 0);
}

}  // namespace
}  // namespace venic::fastpath

namespace venic::fastpath {
namespace {

// The IPv4 header checksum verdict that reaches the mbuf (ENA reports it).
TEST(PacketParser, Ipv4HeaderChecksumIsJudged) {
  Frame f;
  f.eth(0x0800).ipv4(17, kSrcIp, kDstIp).ports(1000, 2000).pad_to(60);
  // Fill in the right checksum: ones' complement of the header's sum.
  uint32_t sum = 0;
  for (int i = 14; i < 34; i += 2) sum += uint32_t(f.b[i]) << 8 | f.b[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f.b[24] = uint8_t(~sum >> 8);
  f.b[25] = uint8_t(~sum);
  ParsedPacket p;
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l3_csum, VENIC_CQE_F_L3_CSUM_OK);
  f.b[22] ^= 0x01;  // TTL changed, checksum not
  ASSERT_TRUE(parse(f.b, p));
  EXPECT_EQ(p.l3_csum, VENIC_CQE_F_L3_CSUM_BAD);
  Frame arp;
  arp.eth(0x0806).zeros(28);
  ASSERT_TRUE(parse(arp.b, p));
  EXPECT_EQ(p.l3_csum, 0);
}

}  // namespace
}  // namespace venic::fastpath
