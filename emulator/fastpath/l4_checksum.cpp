#include "l4_checksum.h"

#include <rte_byteorder.h>
#include <rte_ip.h>

#include <algorithm>

#include "checksum.h"
#include "venic_abi.h"

namespace venic::fastpath {

namespace {

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// Ones' complement sum of frame bytes [off, off + len) across the chunks, in
// network byte order as rte_raw_cksum leaves it.  A chunk that starts at an
// odd offset of the summed range contributes byte-swapped.
uint32_t sum_range(const Chunk* chunks, uint32_t n, uint32_t off, uint32_t len) {
  uint32_t sum = 0, done = 0, pos = 0;
  for (uint32_t i = 0; i < n && done < len; i++) {
    const uint32_t end = pos + chunks[i].len;
    if (end > off) {
      const uint32_t from = std::max(pos, off + done) - pos;
      const uint32_t take = std::min(chunks[i].len - from, len - done);
      uint32_t part = rte_raw_cksum(chunks[i].ptr + from, take);
      if (done & 1) part = rte_bswap16(static_cast<uint16_t>(part));
      sum += part;
      done += take;
    }
    pos = end;
  }
  return sum;
}

}  // namespace

uint16_t l4_csum_verdict(const ParsedPacket& pkt, const uint8_t* hdr, const Chunk* chunks, uint32_t n,
                         uint32_t frame_len) {
  if ((pkt.l4 != L4::kTcp && pkt.l4 != L4::kUdp) || pkt.truncated || pkt.fragment) return 0;
  const uint8_t* ip = hdr + pkt.l3_off;
  uint32_t l4_len;
  uint32_t sum;
  const uint8_t proto = pkt.l4 == L4::kTcp ? IPPROTO_TCP : IPPROTO_UDP;
  if (pkt.l3 == L3::kIpv4) {
    if (be16(ip + 6) & 0x2000) return 0;  // a first fragment: the checksum covers the whole datagram
    const uint32_t total = be16(ip + 2), ihl = (ip[0] & 0x0f) * 4u;
    if (total < ihl + (pkt.l4 == L4::kTcp ? 20u : 8u)) return VENIC_CQE_F_L4_CSUM_BAD;
    l4_len = total - ihl;
  } else if (pkt.l3 == L3::kIpv6) {
    l4_len = be16(ip + 4);  // no extension headers: the parser saw L4 right after
  } else {
    return 0;
  }
  // Before reading any L4 field: the IP length may overstate the frame.
  if (pkt.l4_off + l4_len > frame_len) return VENIC_CQE_F_L4_CSUM_BAD;
  // Pseudo-header: addresses, protocol, L4 length (network order words).
  if (pkt.l3 == L3::kIpv4) {
    if (pkt.l4 == L4::kUdp && be16(hdr + pkt.l4_off + 6) == 0) return 0;  // IPv4 UDP may omit it
    sum = rte_raw_cksum(ip + 12, 8) + rte_cpu_to_be_16(proto) + rte_cpu_to_be_16(static_cast<uint16_t>(l4_len));
  } else {
    sum = rte_raw_cksum(ip + 8, 32) + rte_cpu_to_be_16(static_cast<uint16_t>(l4_len >> 16)) +
          rte_cpu_to_be_16(static_cast<uint16_t>(l4_len)) + rte_cpu_to_be_16(proto);
  }
  sum += sum_range(chunks, n, pkt.l4_off, l4_len);
  return csum_fold(sum) == 0xffff ? VENIC_CQE_F_L4_CSUM_OK : VENIC_CQE_F_L4_CSUM_BAD;
}

}  // namespace venic::fastpath
