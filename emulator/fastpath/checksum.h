// Internet checksum arithmetic (RFC 1071, RFC 1624), the one place the fast
// path's parser, router and answers do it.  Values are host-order sums of
// big-endian 16-bit words.  DPDK-free (the parser's fuzzer links it alone);
// the receive-side L4 verdict sums payloads with DPDK's rte_raw_cksum and
// folds here.
#pragma once

#include <cstdint>
#include <cstring>

namespace venic::fastpath {

// Folds a sum to 16 bits, end-around carry included.
inline uint16_t csum_fold(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The ones' complement sum of len bytes as big-endian 16-bit words (an odd
// last byte is the high half of a word), added to `sum`, folded.  Reads 32
// bits at a time: a 32-bit word's halves fold into the same 16-bit sum.
inline uint16_t csum_add(const uint8_t* p, uint32_t len, uint64_t sum = 0) {
  uint32_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    sum += __builtin_bswap32(w);
  }
  if (i + 2 <= len) {
    sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    i += 2;
  }
  if (i < len) sum += static_cast<uint32_t>(p[i]) << 8;
  return csum_fold(sum);
}

// An IPv4 header of ihl bytes whose checksum field is right.
inline bool ipv4_header_ok(const uint8_t* ip, uint32_t ihl) {
  return csum_add(ip, ihl) == 0xffff;
}

// Replaces the 16-bit word at field (big-endian) in a checksummed header
// and updates the checksum at csum for it (RFC 1624: HC' = ~(~HC + ~m + m')).
inline void csum_replace16(uint8_t* field, uint16_t now, uint8_t* csum) {
  const uint16_t was = static_cast<uint16_t>(field[0] << 8 | field[1]);
  field[0] = static_cast<uint8_t>(now >> 8);
  field[1] = static_cast<uint8_t>(now);
  const uint16_t hc = static_cast<uint16_t>(csum[0] << 8 | csum[1]);
  const uint16_t s = csum_fold(uint64_t{static_cast<uint16_t>(~hc)} + static_cast<uint16_t>(~was) + now);
  csum[0] = static_cast<uint8_t>(~s >> 8);
  csum[1] = static_cast<uint8_t>(~s);
}

}  // namespace venic::fastpath
