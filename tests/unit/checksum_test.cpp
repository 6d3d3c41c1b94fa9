// The fast path's one checksum module against DPDK's own helpers and
// against recomputing from scratch.
#include "checksum.h"

#include <gtest/gtest.h>
#include <rte_ip.h>

#include <random>
#include <vector>

namespace venic::fastpath {
namespace {

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(Checksum, SumsAsDpdkDoesForEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  for (uint32_t len = 0; len < 80; len++) {
    auto v = random_bytes(rng, len + 3);
    for (uint32_t off = 0; off < 3; off++) {
      // rte_raw_cksum sums native (little-endian) words: byte-swap its fold.
      const uint16_t dpdk = rte_bswap16(static_cast<uint16_t>(rte_raw_cksum(v.data() + off, len)));
      EXPECT_EQ(csum_add(v.data() + off, len), dpdk) << "len " << len << " offset " << off;
    }
  }
}

TEST(Checksum, Ipv4HeadersDpdkChecksummedAreOkAndAnyFlippedBitIsNot) {
  std::mt19937 rng(11);
  for (int i = 0; i < 100; i++) {
    auto v = random_bytes(rng, 20);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(v.data());
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    EXPECT_TRUE(ipv4_header_ok(v.data(), 20));
    v[rng() % 20] ^= static_cast<uint8_t>(1u << (rng() % 8));
    EXPECT_FALSE(ipv4_header_ok(v.data(), 20));
  }
}

TEST(Checksum, IncrementalUpdateEqualsRecomputing) {
  std::mt19937 rng(13);
  for (int i = 0; i < 1000; i++) {
    auto v = random_bytes(rng, 20);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(v.data());
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    const uint16_t now = static_cast<uint16_t>(rng());
    csum_replace16(v.data() + 8, now, v.data() + 10);  // TTL|protocol, as the router does
    EXPECT_TRUE(ipv4_header_ok(v.data(), 20)) << i;
    EXPECT_EQ(v[8] << 8 | v[9], now);
  }
}

}  // namespace
}  // namespace venic::fastpath
