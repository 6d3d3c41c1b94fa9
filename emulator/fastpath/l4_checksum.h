// TCP/UDP checksum verification on receive (VENIC_OFFLOAD_RX_L4_CSUM), as
// ENA reports it: done over the bytes the receiver got, after the copy, so a
// sender rewriting its buffer meanwhile cannot make a bad frame look good.
#pragma once

#include <cstdint>

#include "packet_parser.h"

namespace venic::fastpath {

struct Chunk {
  const uint8_t* ptr;
  uint32_t len;
};

// VENIC_CQE_F_L4_CSUM_OK or _BAD for a TCP/UDP packet whose checksum can be
// checked; 0 when it cannot (not TCP/UDP, a fragment, IPv4 UDP without a
// checksum).  hdr is the frame's first bytes as parsed into pkt; the frame
// itself is chunks[0..n) in order, frame_len bytes in all.
uint16_t l4_csum_verdict(const ParsedPacket& pkt, const uint8_t* hdr, const Chunk* chunks, uint32_t n,
                         uint32_t frame_len);

}  // namespace venic::fastpath
