#include "parse_burst.h"

#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include <algorithm>

namespace venic::fastpath {

// How many packets ahead the headers are prefetched.
constexpr uint32_t kPrefetchAhead = 4;

void copy_segments(uint8_t* dst, const Segment* segs, uint32_t nseg, uint32_t len) {
  for (uint32_t s = 0; s < nseg && len; s++) {
    const uint32_t n = std::min(len, segs[s].len);
    rte_memcpy(dst, segs[s].ptr, n);
    dst += n;
    len -= n;
  }
}

void parse_burst(Burst& b) {
  for (uint32_t k = 0; k < std::min(b.npkt, kPrefetchAhead); k++)
    if (b.p[k].alive()) rte_prefetch0(b.p[k].tx.segs[0].ptr);
  for (uint32_t k = 0; k < b.npkt; k++) {
    if (k + kPrefetchAhead < b.npkt && b.p[k + kPrefetchAhead].alive())
      rte_prefetch0(b.p[k + kPrefetchAhead].tx.segs[0].ptr);
    BurstPacket& p = b.p[k];
    if (!p.alive()) continue;
    const TxPacket& tx = p.tx;
    p.hdr_len = std::min(tx.total, kHeaderCopy);
    if (p.hdr_len <= tx.segs[0].len)
      rte_memcpy(p.hdr, tx.segs[0].ptr, p.hdr_len);
    else
      copy_segments(p.hdr, tx.segs, tx.nseg, p.hdr_len);
    parse_packet({p.hdr, p.hdr_len}, tx.total, p.pkt);
  }
}

}  // namespace venic::fastpath
