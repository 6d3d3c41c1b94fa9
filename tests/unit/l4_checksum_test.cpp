// TCP/UDP checksum verdicts on receive: checked against DPDK's own
// rte_ipv4/ipv6_udptcp_cksum over frames split at awkward (odd) places.
#include <gtest/gtest.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstring>
#include <vector>

#include "l4_checksum.h"
#include "venic_abi.h"

namespace venic::fastpath {
namespace {

// Ethernet + IPv4 or IPv6 + UDP or TCP + payload, checksums filled by DPDK.
std::vector<uint8_t> frame(bool v6, bool tcp, uint32_t payload) {
  const uint32_t l3 = v6 ? 40 : 20, l4 = tcp ? 20 : 8;
  std::vector<uint8_t> f(14 + l3 + l4 + payload);
  for (uint32_t i = 0; i < payload; i++) f[14 + l3 + l4 + i] = static_cast<uint8_t>(i * 7 + 3);
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  f[0] = 0x02;
  f[6] = 0x02;
  uint8_t* ip = &f[14];
  uint8_t* l4p = ip + l3;
  const uint8_t proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
  if (tcp) {
    auto* t = reinterpret_cast<rte_tcp_hdr*>(l4p);
    t->src_port = rte_cpu_to_be_16(40000);
    t->dst_port = rte_cpu_to_be_16(5001);
    t->data_off = 5 << 4;
  } else {
    auto* u = reinterpret_cast<rte_udp_hdr*>(l4p);
    u->src_port = rte_cpu_to_be_16(40000);
    u->dst_port = rte_cpu_to_be_16(5001);
    u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4 + payload));
  }
  uint16_t sum;
  if (v6) {
    auto* h = reinterpret_cast<rte_ipv6_hdr*>(ip);
    h->vtc_flow = rte_cpu_to_be_32(6u << 28);
    h->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4 + payload));
    h->proto = proto;
    h->hop_limits = 64;
    h->src_addr[0] = 0xfd;
    h->src_addr[15] = 1;
    h->dst_addr[0] = 0xfd;
    h->dst_addr[15] = 2;
    sum = rte_ipv6_udptcp_cksum(h, l4p);
  } else {
    auto* h = reinterpret_cast<rte_ipv4_hdr*>(ip);
    h->version_ihl = 0x45;
    h->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(l3 + l4 + payload));
    h->time_to_live = 64;
    h->next_proto_id = proto;
    h->src_addr = rte_cpu_to_be_32(0x0a00010a);
    h->dst_addr = rte_cpu_to_be_32(0x0a00010b);
    h->hdr_checksum = rte_ipv4_cksum(h);
    sum = rte_ipv4_udptcp_cksum(h, l4p);
  }
  std::memcpy(l4p + (tcp ? 16 : 6), &sum, 2);
  return f;
}

uint16_t verdict(const std::vector<uint8_t>& f, std::vector<uint32_t> cuts) {
  ParsedPacket pkt;
  const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(f.size()), kHeaderCopy);
  EXPECT_TRUE(parse_packet({f.data(), n}, static_cast<uint32_t>(f.size()), pkt));
  std::vector<Chunk> chunks;
  uint32_t at = 0;
  cuts.push_back(static_cast<uint32_t>(f.size()));
  for (uint32_t c : cuts) {
    chunks.push_back({f.data() + at, c - at});
    at = c;
  }
  return l4_csum_verdict(pkt, f.data(), chunks.data(), static_cast<uint32_t>(chunks.size()),
                         static_cast<uint32_t>(f.size()));
}

TEST(L4Checksum, GoodFramesAreOkWhereverTheyAreSplit) {
  for (bool v6 : {false, true})
    for (bool tcp : {false, true})
      for (uint32_t payload : {0u, 1u, 18u, 1457u, 8950u}) {
        auto f = frame(v6, tcp, payload);
        EXPECT_EQ(verdict(f, {}), VENIC_CQE_F_L4_CSUM_OK) << v6 << tcp << payload;
        if (f.size() > 80) {
          EXPECT_EQ(verdict(f, {33, 61, 62, 79}), VENIC_CQE_F_L4_CSUM_OK) << "split " << v6 << tcp << payload;
        }
      }
}

TEST(L4Checksum, AnyFlippedBitIsBad) {
  for (bool v6 : {false, true})
    for (bool tcp : {false, true}) {
      auto f = frame(v6, tcp, 1000);
      for (size_t at : {f.size() - 1, f.size() - 500, size_t(14 + (v6 ? 40 : 20) + 2)}) {
        auto g = f;
        g[at] ^= 0x10;
        EXPECT_EQ(verdict(g, {101, 333}), VENIC_CQE_F_L4_CSUM_BAD) << v6 << tcp << at;
      }
      // A pseudo-header field (the destination address) is covered too.
      auto g = f;
      g[14 + (v6 ? 39 : 19)] ^= 1;
      EXPECT_EQ(verdict(g, {}), VENIC_CQE_F_L4_CSUM_BAD) << v6 << tcp;
    }
}

TEST(L4Checksum, UncheckableFramesGetNoVerdict) {
  auto f = frame(false, false, 100);
  f[14 + 20 + 6] = f[14 + 20 + 7] = 0;  // IPv4 UDP without a checksum
  EXPECT_EQ(verdict(f, {}), 0);
  f = frame(false, true, 100);
  f[14 + 6] = 0x20;  // more fragments: the checksum covers the whole datagram
  EXPECT_EQ(verdict(f, {}), 0);
  std::vector<uint8_t> arp(60);
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(verdict(arp, {}), 0);
}

TEST(L4Checksum, IpLengthBeyondTheFrameIsBad) {
  auto f = frame(false, false, 100);
  f.resize(f.size() - 10);
  EXPECT_EQ(verdict(f, {}), VENIC_CQE_F_L4_CSUM_BAD);
}

}  // namespace
}  // namespace venic::fastpath
