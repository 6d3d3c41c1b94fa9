// Receive-side scaling: the Toeplitz hash of a frame's addresses (and ports,
// for TCP/UDP) under a VF's key, as ENA computes it, and the RX queue its
// indirection table picks.
#pragma once

#include <cstdint>

#include "packet_parser.h"
#include "vf.h"

namespace venic::fastpath {

struct RssHash {
  uint32_t value = 0;
  bool valid = false;  // false: RSS off, or a frame the hash types do not cover
};

RssHash rss_hash(const vf::RssConfig& rss, const ParsedPacket& pkt);

// The queue for a hash: the RETA entry, clamped to the active queues.
inline uint32_t rss_queue(const vf::RssConfig& rss, RssHash h, uint32_t active_qps) {
  if (!h.valid || active_qps <= 1) return 0;
  uint32_t q = rss.reta[h.value & (VENIC_RETA_SIZE - 1)];
  return q < active_qps ? q : q % active_qps;
}

}  // namespace venic::fastpath
