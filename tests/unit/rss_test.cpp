// RSS: venicd's Toeplitz hash must match the published verification suite
// (Microsoft's RSS spec, the same vectors NIC datasheets use), and the hash
// types must select exactly the inputs they name.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "rss.h"

namespace venic::fastpath {
namespace {

constexpr uint8_t kKey[VENIC_RSS_KEY_SIZE] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

vf::RssConfig config(uint32_t types) {
  vf::RssConfig c;
  c.types = types;
  std::copy(std::begin(kKey), std::end(kKey), c.key.begin());
  for (uint32_t i = 0; i < VENIC_RETA_SIZE; i++) c.reta[i] = static_cast<uint8_t>(i % 4);
  return c;
}

uint32_t ip4(const char* s) {
  in_addr a{};
  inet_pton(AF_INET, s, &a);
  return ntohl(a.s_addr);
}

ParsedPacket tcp4(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  ParsedPacket p;
  p.l3 = L3::kIpv4;
  p.l4 = L4::kTcp;
  p.src_ip4 = ip4(src);
  p.dst_ip4 = ip4(dst);
  p.src_port = sport;
  p.dst_port = dport;
  return p;
}

struct V4 {
  const char *src, *dst;
  uint16_t sport, dport;
  uint32_t l3, l4;
};

TEST(Rss, Ipv4MatchesTheVerificationSuite) {
  const V4 vectors[] = {
      {"66.9.149.187", "161.142.100.80", 2794, 1766, 0x323e8fc2, 0x51ccc178},
      {"199.92.111.2", "65.69.140.83", 14230, 4739, 0xd718262a, 0xc626b0ea},
      {"24.19.198.95", "12.22.207.184", 12898, 38024, 0xd2d0a5de, 0x5c2b394a},
      {"38.27.205.30", "209.142.163.6", 48228, 2217, 0x82989176, 0xafc7327f},
      {"153.39.163.191", "202.188.127.2", 44251, 1303, 0x5d1809c5, 0x10e828a2},
  };
  for (const auto& v : vectors) {
    ParsedPacket p = tcp4(v.src, v.dst, v.sport, v.dport);
    RssHash l4 = rss_hash(config(VENIC_RSS_IPV4 | VENIC_RSS_IPV4_TCP), p);
    EXPECT_TRUE(l4.valid);
    EXPECT_EQ(l4.value, v.l4) << v.src;
    // Without the TCP type only the addresses count.
    RssHash l3 = rss_hash(config(VENIC_RSS_IPV4), p);
    EXPECT_EQ(l3.value, v.l3) << v.src;
  }
}

TEST(Rss, Ipv6MatchesTheVerificationSuite) {
  struct V6 {
    const char *src, *dst;
    uint16_t sport, dport;
    uint32_t l4;
  } vectors[] = {
      {"3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x40207d3d},
      {"3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0xdde51bbf},
  };
  for (const auto& v : vectors) {
    uint8_t src[16], dst[16];
    inet_pton(AF_INET6, v.src, src);
    inet_pton(AF_INET6, v.dst, dst);
    ParsedPacket p;
    p.l3 = L3::kIpv6;
    p.l4 = L4::kTcp;
    p.src_ip6 = src;
    p.dst_ip6 = dst;
    p.src_port = v.sport;
    p.dst_port = v.dport;
    EXPECT_EQ(rss_hash(config(VENIC_RSS_IPV6_TCP), p).value, v.l4) << v.src;
  }
}

TEST(Rss, OffOrUncoveredFramesHaveNoHash) {
  ParsedPacket p = tcp4("66.9.149.187", "161.142.100.80", 2794, 1766);
  EXPECT_FALSE(rss_hash(config(0), p).valid);
  EXPECT_FALSE(rss_hash(config(VENIC_RSS_IPV6 | VENIC_RSS_IPV6_TCP), p).valid);
  ParsedPacket arp;
  arp.l3 = L3::kArp;
  EXPECT_FALSE(rss_hash(config(VENIC_RSS_IPV4), arp).valid);
}

TEST(Rss, UdpNeedsItsOwnTypeAndFragmentsUseAddressesOnly) {
  ParsedPacket p = tcp4("66.9.149.187", "161.142.100.80", 2794, 1766);
  p.l4 = L4::kUdp;
  EXPECT_EQ(rss_hash(config(VENIC_RSS_IPV4 | VENIC_RSS_IPV4_TCP), p).value, 0x323e8fc2u);
  EXPECT_EQ(rss_hash(config(VENIC_RSS_IPV4_UDP), p).value, 0x51ccc178u);
  p.fragment = true;
  EXPECT_EQ(rss_hash(config(VENIC_RSS_IPV4 | VENIC_RSS_IPV4_UDP), p).value, 0x323e8fc2u);
}

TEST(Rss, QueueComesFromTheRetaAndStaysInRange) {
  vf::RssConfig c = config(VENIC_RSS_IPV4);
  c.reta[0x42 & (VENIC_RETA_SIZE - 1)] = 3;
  EXPECT_EQ(rss_queue(c, {0x42, true}, 4), 3u);
  EXPECT_EQ(rss_queue(c, {0x42, true}, 2), 1u);  // an entry past the active queues wraps
  EXPECT_EQ(rss_queue(c, {0x42, true}, 1), 0u);
  EXPECT_EQ(rss_queue(c, {0x42, false}, 4), 0u);
}

}  // namespace
}  // namespace venic::fastpath
