#include "desc_check.h"

namespace venic::fastpath {

bool gather_tx_packet(const DescMemory& m, const venic_desc* d, uint32_t n, uint32_t first, TxPacket& out) {
  // Up to the VENIC_MAX_SEGS-th descriptor: when that one still says MORE,
  // the packet is longer than the ABI allows.
  uint32_t end = first;
  while (end < n && (d[end].flags & VENIC_DESC_F_MORE) && end - first + 1 < VENIC_MAX_SEGS) end++;
  if (end == n) return false;
  out.end = end;
  out.nseg = end - first + 1;
  out.total = 0;
  out.bad = (d[end].flags & VENIC_DESC_F_MORE) != 0;
  out.zero_copy = true;
  for (uint32_t s = 0; s < out.nseg && !out.bad; s++) {
    const venic_desc& x = d[first + s];
    const uint8_t* p = translate(m, x);
    if (!p) out.bad = true;
    out.segs[s] = {p, x.len};
    out.total += x.len;
    out.zero_copy = out.zero_copy && x.mem_id != VENIC_MEM_REGION_BUFS;
  }
  return true;
}

}  // namespace venic::fastpath
