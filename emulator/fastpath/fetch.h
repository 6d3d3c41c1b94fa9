// Stage 1, fetch and validate: copies a burst of TX descriptors out of the
// ring once (only the copies are used from then on), groups them into
// packets, and judges each packet's descriptors and size.
#pragma once

#include "burst.h"
#include "snapshot.h"

namespace venic::fastpath {

// What VF p's descriptors may name (its buffer area, the memory it registered).
inline DescMemory memory_of(const PortView& p) {
  return {p.base, p.buf_lo, p.buf_hi, p.dma, p.n_dma};
}

// Counts a malformed descriptor against p; past vf::kMddThreshold the VF is reset.
void note_bad_desc(const PortView& p, uint32_t n = 1);

// Copies up to kBurstDescs published descriptors of port's TX queue q into
// b.d; returns how many (0: none, or an impossible producer index, which
// trips the VF's malicious-driver detection).
uint32_t fetch_descriptors(const PortView& port, uint32_t q, Burst& b);

// The drop reason of a gathered packet that may not leave (bad descriptors,
// runt, oversize), or -1.
int invalid_reason(const PortView& port, const TxPacket& tx);

}  // namespace venic::fastpath
