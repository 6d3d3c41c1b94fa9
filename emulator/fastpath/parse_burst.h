// Stage 3, parse: a private copy of each packet's first bytes (decisions are
// made on it and the receiver gets it, so a driver rewriting its buffer
// meanwhile cannot split them), parsed L2-L4.  The next packets' headers are
// prefetched while one is copied.
#pragma once

#include "burst.h"

namespace venic::fastpath {

void parse_burst(Burst& b);

// Copies len bytes of a frame made of segs (from its start) to dst.
void copy_segments(uint8_t* dst, const Segment* segs, uint32_t nseg, uint32_t len);

}  // namespace venic::fastpath
